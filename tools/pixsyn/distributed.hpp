#pragma once
// --gpus N: one process per GPU. On one machine the command starts N ranks of itself (dist/launch.hpp) and
// waits for them; a process started with WORLD_SIZE set (by that launcher, or by hand on several machines)
// is one rank and joins the run's NCCL communicator (dist/nccl.hpp).
#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "pixsyn/dist/communicator.hpp"

namespace pixsyn::cli {

// Adds --gpus (1 .. 64) to a subcommand.
void add_gpus_option(CLI::App& app, std::int64_t& gpus);

// With gpus > 1 in a process that is no rank yet (WORLD_SIZE unset): runs this command as `gpus` ranks and
// returns the launcher's exit status. Otherwise nullopt: the caller does the work itself.
std::optional<int> launch_ranks(std::int64_t gpus);

// This process's rank in the run when WORLD_SIZE is set, made on first use (before any GPU work, which
// must run on the rank's GPU); null in a single-process run. `device` is the subcommand's --device: the
// ranks talk over NCCL, which needs "cuda" and a CUDA build.
dist::Communicator* rank_communicator(const std::string& device);

// The communicator rank_communicator made, or null.
dist::Communicator* current_communicator();

// Ends this process's rank at scope exit (before static destruction, while the GPU context still lives).
struct RankScope {
  RankScope() = default;
  RankScope(const RankScope&) = delete;
  RankScope& operator=(const RankScope&) = delete;
  ~RankScope();
};

}  // namespace pixsyn::cli
