#pragma once
// dist::Environment: where this process sits in a distributed run, from the environment variables torchrun
// sets (and a user starting processes by hand sets alike): RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
// MASTER_PORT. Values from outside are checked: integers in range, a port in 1 .. 65535, a rank below the
// world size.
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>

#include "pixsyn/core/error.hpp"

namespace pixsyn::dist {

struct Environment {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;  // the GPU of this process on its machine
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
};

namespace detail {

inline int parse_int(const std::string& name, const std::string& text, long long low, long long high) {
  long long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  pixsyn::detail::check(error == std::errc() && end == text.data() + text.size() && value >= low && value <= high,
                        "dist: the environment variable ", name, "='", pixsyn::detail::printable(text),
                        "' is not an integer in ", low, " .. ", high);
  return static_cast<int>(value);
}

}  // namespace detail

// The run's place from `lookup` (getenv by default); nullopt when WORLD_SIZE is not set (a single-process
// run). With WORLD_SIZE set, RANK must be set too; LOCAL_RANK defaults to RANK, MASTER_ADDR to 127.0.0.1 and
// MASTER_PORT to 29500 (torchrun's defaults).
inline std::optional<Environment> environment_from(const std::function<const char*(const char*)>& lookup) {
  const char* world = lookup("WORLD_SIZE");
  if (world == nullptr) return std::nullopt;
  Environment env;
  env.world_size = detail::parse_int("WORLD_SIZE", world, 1, 65536);
  const char* rank = lookup("RANK");
  pixsyn::detail::check(rank != nullptr, "dist: WORLD_SIZE=", env.world_size,
                        " is set but RANK is not (every process of a distributed run needs both)");
  env.rank = detail::parse_int("RANK", rank, 0, env.world_size - 1);
  const char* local = lookup("LOCAL_RANK");
  env.local_rank = local != nullptr ? detail::parse_int("LOCAL_RANK", local, 0, 1023) : env.rank;
  if (const char* addr = lookup("MASTER_ADDR"); addr != nullptr) {
    env.master_addr = addr;
    pixsyn::detail::check(!env.master_addr.empty() && env.master_addr.size() <= 253 &&
                              env.master_addr == pixsyn::detail::printable(env.master_addr, 253),
                          "dist: MASTER_ADDR='", pixsyn::detail::printable(addr), "' is not a host name or address");
  }
  if (const char* port = lookup("MASTER_PORT"); port != nullptr)
    env.master_port = detail::parse_int("MASTER_PORT", port, 1, 65535);
  return env;
}

inline std::optional<Environment> environment() {
  return environment_from([](const char* name) { return std::getenv(name); });
}

}  // namespace pixsyn::dist
