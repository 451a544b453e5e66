#include "memory.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <limits>

#include "pixsyn/core/error.hpp"
#include "pixsyn/core/storage.hpp"

namespace pixsyn::cli {
namespace {

constexpr std::uint64_t unlimited = std::numeric_limits<std::uint64_t>::max();

std::uint64_t resource_limit(int resource) {
  rlimit limit{};
  if (::getrlimit(resource, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return unlimited;
  return limit.rlim_cur;
}

// cgroup v2 (memory.max, "max" when unlimited) or v1 (memory.limit_in_bytes).
std::uint64_t cgroup_limit() {
  for (const char* file : {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    std::ifstream in(file);
    std::uint64_t bytes = 0;
    if (in >> bytes) return bytes;
  }
  return unlimited;
}

}  // namespace

std::uint64_t usable_memory() {
  return std::min(
      {pixsyn::detail::physical_memory(), resource_limit(RLIMIT_AS), resource_limit(RLIMIT_DATA), cgroup_limit()});
}

std::uint64_t saturating_product(std::initializer_list<std::uint64_t> factors) {
  std::uint64_t product = 1;
  for (const std::uint64_t f : factors)
    if (__builtin_mul_overflow(product, f, &product)) return unlimited;
  return product;
}

std::uint64_t saturating_sum(std::initializer_list<std::uint64_t> terms) {
  std::uint64_t sum = 0;
  for (const std::uint64_t t : terms)
    if (__builtin_add_overflow(sum, t, &sum)) return unlimited;
  return sum;
}

void check_memory(const std::string& what, std::uint64_t bytes) {
  const std::uint64_t usable = usable_memory();
  pixsyn::detail::check(bytes <= usable, what, " needs at least ", pixsyn::detail::format_bytes(bytes),
                        " of memory; this machine allows ", pixsyn::detail::format_bytes(usable));
}

}  // namespace pixsyn::cli
