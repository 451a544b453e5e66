#include "distributed.hpp"

#include <unistd.h>

#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <vector>

#include "options.hpp"
#include "pixsyn/dist/environment.hpp"
#include "pixsyn/dist/launch.hpp"
#include "pixsyn/dist/rendezvous.hpp"
#include "usage_error.hpp"
#ifdef PIXSYN_WITH_CUDA
#include "pixsyn/dist/nccl.hpp"
#endif

namespace pixsyn::cli {
namespace {

std::unique_ptr<dist::Communicator>& communicator_slot() {
  static std::unique_ptr<dist::Communicator> comm;
  return comm;
}

#ifdef PIXSYN_WITH_CUDA
// This process's own command line, to start it again as the ranks.
std::vector<std::string> own_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (std::size_t start = 0; start < raw.size();) {
    const std::size_t end = raw.find('\0', start);
    args.push_back(raw.substr(start, end - start));
    start = end == std::string::npos ? raw.size() : end + 1;
  }
  pixsyn::detail::check(!args.empty(), "--gpus: cannot read this process's command line (/proc/self/cmdline)");
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  pixsyn::detail::check(n > 0, "--gpus: cannot find this program (/proc/self/exe)");
  args[0] = std::string(exe, static_cast<std::size_t>(n));
  return args;
}
#endif

}  // namespace

void add_gpus_option(CLI::App& app, std::int64_t& gpus) {
  add_integer_option(app, "--gpus", gpus, 1, 64,
                     "Run on this many GPUs of this machine, one process each (NCCL; --device cuda), rank 0 writing "
                     "the outputs; several machines: docs/distributed.md");
}

std::optional<int> launch_ranks(std::int64_t gpus) {
  if (gpus <= 1 || std::getenv("WORLD_SIZE") != nullptr) return std::nullopt;
#ifndef PIXSYN_WITH_CUDA
  throw UsageError("--gpus needs a pixsyn built with CUDA (configure with -DPIXSYN_CUDA=ON)");
#else
  if (const int visible = dist::visible_gpus(); gpus > visible)
    throw UsageError("--gpus " + std::to_string(gpus) + ": this process sees " + std::to_string(visible) + " GPU" +
                     (visible == 1 ? "" : "s") + " (CUDA_VISIBLE_DEVICES selects them)");
  dist::LaunchOptions options{.processes = static_cast<int>(gpus)};
  const auto env = dist::environment_from([](const char* name) -> const char* {
    const std::string key(name);
    if (key == "WORLD_SIZE") return "1";  // only MASTER_ADDR and MASTER_PORT are read here
    if (key == "RANK") return "0";
    return std::getenv(name);
  });
  options.master_addr = env->master_addr;
  options.master_port = std::getenv("MASTER_PORT") != nullptr ? env->master_port : dist::free_port();
  return dist::launch(own_command_line(), options, std::cerr);
#endif
}

dist::Communicator* rank_communicator(const std::string& device) {
  auto& comm = communicator_slot();
  if (comm) return comm.get();
  const auto env = dist::environment();
  if (!env) return nullptr;
  if (device != "cuda")
    throw UsageError("a distributed run (WORLD_SIZE=" + std::to_string(env->world_size) +
                     ") talks over NCCL: it needs --device cuda");
#ifdef PIXSYN_WITH_CUDA
  comm = dist::nccl_communicator(*env, dist::nccl_options_from_environment());
  return comm.get();
#else
  throw UsageError("a distributed run (WORLD_SIZE is set) needs a pixsyn built with CUDA (-DPIXSYN_CUDA=ON)");
#endif
}

dist::Communicator* current_communicator() { return communicator_slot().get(); }

// Leaving on an error: abort (a clean finalize would wait for the other ranks, which may be gone).
RankScope::~RankScope() {
  auto& comm = communicator_slot();
  if (comm && std::uncaught_exceptions() > 0) comm->abort("this rank stopped on an error");
  comm.reset();
}

}  // namespace pixsyn::cli
