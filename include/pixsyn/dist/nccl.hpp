#pragma once
// dist::nccl_communicator: this process's rank in one NCCL communicator, one process per GPU (as torchrun
// runs PyTorch's DDP). The process takes the GPU LOCAL_RANK (or the only one it sees, when the launcher
// narrowed CUDA_VISIBLE_DEVICES to it), meets the other ranks at MASTER_ADDR:MASTER_PORT (dist/rendezvous.hpp)
// to share rank 0's ncclUniqueId, and joins. Collectives run on pixsyn's CUDA stream.
//
// Failure: the communicator is non-blocking (ncclCommInitRankConfig with blocking = 0); every collective
// waits for its completion while polling ncclCommGetAsyncError, and one that has not finished within the
// timeout (a rank died, hangs or stopped calling) aborts the communicator (ncclCommAbort) and throws, naming
// the collective and the rank. So a dead rank stops the others in bounded time instead of hanging them.
// Plain C++: the definitions live in src/cuda/nccl.cu (link pixsyn::cuda, built with PIXSYN_CUDA=ON).
#include <chrono>
#include <memory>

#include "pixsyn/dist/communicator.hpp"
#include "pixsyn/dist/environment.hpp"
#include "pixsyn/dist/rendezvous.hpp"

namespace pixsyn::dist {

struct NcclOptions {
  // How long a collective may take before the run is declared dead (a rank that writes a checkpoint or
  // renders samples makes the others wait that long at their next collective).
  std::chrono::milliseconds timeout = std::chrono::minutes(10);
  RendezvousOptions rendezvous{};
};

// The options with the timeouts from PIXSYN_DIST_TIMEOUT (seconds, both), when set.
NcclOptions nccl_options_from_environment();

std::unique_ptr<Communicator> nccl_communicator(const Environment& env, const NcclOptions& options = {});

// The GPUs this process sees (CUDA_VISIBLE_DEVICES narrows them); 0 without a GPU or driver.
int visible_gpus();

}  // namespace pixsyn::dist
