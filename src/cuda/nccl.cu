// dist::nccl_communicator (include/pixsyn/dist/nccl.hpp): NCCL's communicator behind dist::Communicator.
#include <cuda_runtime.h>
#include <nccl.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/dist/nccl.hpp"

namespace pixsyn::dist {
namespace {

using Clock = std::chrono::steady_clock;

ncclDataType_t nccl_type(DataType type) {
  switch (type) {
    case DataType::f32:
      return ncclFloat32;
    case DataType::f64:
      return ncclFloat64;
    case DataType::u8:
      return ncclUint8;
  }
  return ncclUint8;
}

void check_cuda(cudaError_t status, const char* what) {
  pixsyn::detail::check(status == cudaSuccess, "dist (nccl): ", what, ": ", cudaGetErrorString(status));
}

// Picks this process's GPU before pixsyn's CUDA context exists (the context binds to the current device).
void select_device(const Environment& env) {
  int count = 0;
  check_cuda(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
  pixsyn::detail::check(count >= 1, "dist (nccl): rank ", env.rank, " sees no GPU");
  const int device = count == 1 ? 0 : env.local_rank;
  pixsyn::detail::check(device < count, "dist (nccl): rank ", env.rank, " has LOCAL_RANK ", env.local_rank,
                        " but sees ", count, " GPUs (start at most ", count, " processes per machine)");
  check_cuda(cudaSetDevice(device), "cudaSetDevice");
  const int bound = backend::cuda::Context::instance().device();
  pixsyn::detail::check(bound == device, "dist (nccl): pixsyn's CUDA context was created on GPU ", bound,
                        " before rank ", env.rank, " joined; create the communicator before any GPU work");
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(const Environment& env, const NcclOptions& options)
      : rank_(env.rank), world_(env.world_size), timeout_(options.timeout) {
    select_device(env);
    stream_ = static_cast<cudaStream_t>(backend::cuda::Context::instance().stream());
    std::vector<unsigned char> id_bytes;
    if (env.rank == 0) {
      ncclUniqueId id;
      check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
      id_bytes.assign(reinterpret_cast<unsigned char*>(&id), reinterpret_cast<unsigned char*>(&id) + sizeof id);
    }
    id_bytes = rendezvous(env, id_bytes, options.rendezvous);
    pixsyn::detail::check(id_bytes.size() == sizeof(ncclUniqueId), "dist (nccl): rank ", rank_, " received ",
                          id_bytes.size(), " bytes from rank 0, not an ncclUniqueId of ", sizeof(ncclUniqueId));
    ncclUniqueId id;
    std::memcpy(&id, id_bytes.data(), sizeof id);
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    const ncclResult_t started = ncclCommInitRankConfig(&comm_, world_, id, rank_, &config);
    if (started != ncclSuccess && started != ncclInProgress) check_nccl(started, "ncclCommInitRankConfig");
    settle("joining the communicator", Clock::now() + options.rendezvous.timeout);
    check_cuda(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming), "cudaEventCreate");
    scratch_ = backend::cuda::allocate(scratch_bytes);
  }

  ~NcclCommunicator() override {
    if (scratch_ != nullptr) backend::cuda::deallocate(scratch_);
    end_communicator();
    // After the communicator: an aborted one no longer holds kernels on the communication stream.
    for (cudaEvent_t event : {done_, queued_, started_done_})
      if (event != nullptr) cudaEventDestroy(event);
    if (comm_stream_ != nullptr) cudaStreamDestroy(comm_stream_);
  }

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  std::string_view device() const override { return Cuda::name; }

  void all_reduce(void* data, std::int64_t count, DataType type, ReduceOp op) override {
    pixsyn::detail::check(type != DataType::u8, "dist::all_reduce: uint8 buffers are not reduced");
    const std::lock_guard lock(mutex_);
    enqueue("all_reduce", [&] {
      return ncclAllReduce(data, data, static_cast<size_t>(count), nccl_type(type),
                           op == ReduceOp::sum ? ncclSum : ncclAvg, comm_, stream_);
    });
  }

  // On the communication stream, after the work queued on pixsyn's stream so far; wait_started makes
  // pixsyn's stream wait for it (the host does not wait: a peer's failure surfaces in the next blocking
  // collective, which waits for these first and has the timeout).
  void start_all_reduce(void* data, std::int64_t count, DataType type, ReduceOp op) override {
    pixsyn::detail::check(type != DataType::u8, "dist::all_reduce: uint8 buffers are not reduced");
    const std::lock_guard lock(mutex_);
    check_not_aborted("start_all_reduce");
    if (comm_stream_ == nullptr) {
      check_cuda(cudaStreamCreateWithFlags(&comm_stream_, cudaStreamNonBlocking), "cudaStreamCreate");
      check_cuda(cudaEventCreateWithFlags(&queued_, cudaEventDisableTiming), "cudaEventCreate");
      check_cuda(cudaEventCreateWithFlags(&started_done_, cudaEventDisableTiming), "cudaEventCreate");
    }
    check_cuda(cudaEventRecord(queued_, stream_), "cudaEventRecord");
    check_cuda(cudaStreamWaitEvent(comm_stream_, queued_, 0), "cudaStreamWaitEvent");
    const ncclResult_t status = ncclAllReduce(data, data, static_cast<size_t>(count), nccl_type(type),
                                              op == ReduceOp::sum ? ncclSum : ncclAvg, comm_, comm_stream_);
    if (status != ncclInProgress) check_nccl(status, "start_all_reduce");
    settle("start_all_reduce", Clock::now() + timeout_);
    check_cuda(cudaEventRecord(started_done_, comm_stream_), "cudaEventRecord");
    started_ = true;
  }

  void wait_started() override {
    const std::lock_guard lock(mutex_);
    join_started();
  }

  void all_reduce_host(double* values, std::int64_t count, ReduceOp op) override {
    const std::size_t bytes = static_cast<std::size_t>(count) * sizeof(double);
    pixsyn::detail::check(bytes <= scratch_bytes, "dist::all_reduce_host: ", count, " values are too many");
    backend::cuda::copy_to_device(scratch_, values, bytes);
    all_reduce(scratch_, count, DataType::f64, op);
    backend::cuda::copy_to_host(values, scratch_, bytes);
  }

  void broadcast(void* data, std::int64_t count, DataType type, int root) override {
    pixsyn::detail::check(root >= 0 && root < world_, "dist::broadcast: root ", root, " outside 0 .. ", world_ - 1);
    const std::lock_guard lock(mutex_);
    enqueue("broadcast", [&] {
      return ncclBroadcast(data, data, static_cast<size_t>(count), nccl_type(type), root, comm_, stream_);
    });
  }

  // Host bytes through a device buffer of the message's size.
  void send_host(const void* data, std::size_t bytes, int peer) override {
    check_peer(peer, "send_host");
    void* buffer = backend::cuda::allocate(bytes);
    try {
      backend::cuda::copy_to_device(buffer, data, bytes);
      const std::lock_guard lock(mutex_);
      enqueue("send", [&] { return ncclSend(buffer, bytes, ncclUint8, peer, comm_, stream_); });
    } catch (...) {
      backend::cuda::deallocate(buffer);
      throw;
    }
    backend::cuda::deallocate(buffer);
  }

  void recv_host(void* data, std::size_t bytes, int peer) override {
    check_peer(peer, "recv_host");
    void* buffer = backend::cuda::allocate(bytes);
    try {
      {
        const std::lock_guard lock(mutex_);
        enqueue("recv", [&] { return ncclRecv(buffer, bytes, ncclUint8, peer, comm_, stream_); });
      }
      backend::cuda::copy_to_host(data, buffer, bytes);
    } catch (...) {
      backend::cuda::deallocate(buffer);
      throw;
    }
    backend::cuda::deallocate(buffer);
  }

  void barrier() override {
    const std::lock_guard lock(mutex_);
    enqueue("barrier", [&] { return ncclAllReduce(scratch_, scratch_, 1, ncclFloat32, ncclSum, comm_, stream_); });
  }

  void abort(const std::string& reason) noexcept override {
    {
      const std::lock_guard lock(reason_mutex_);
      if (reason_.empty()) reason_ = reason;
    }
    if (comm_ != nullptr && !aborted_.exchange(true)) ncclCommAbort(comm_);
  }

 private:
  static constexpr std::size_t scratch_bytes = 4096;

  std::string where(const char* op) const {
    return pixsyn::detail::concat("dist (nccl): rank ", rank_, " of ", world_, ": ", op);
  }

  void check_nccl(ncclResult_t status, const char* op) {
    if (status == ncclSuccess) return;
    std::string message = where(op) + " failed: " + ncclGetErrorString(status);
    if (const char* last = comm_ != nullptr ? ncclGetLastError(comm_) : nullptr; last != nullptr && *last != '\0')
      message += std::string(" (") + last + ")";
    abort(message);
    throw Error(message);
  }

  void check_not_aborted(const char* op) {
    if (!aborted_) return;
    const std::lock_guard lock(reason_mutex_);
    pixsyn::detail::fail(where(op), " after the communicator was aborted: ", reason_);
  }

  // Waits while the non-blocking communicator reports ncclInProgress; an error or the deadline aborts.
  void settle(const char* op, Clock::time_point deadline) {
    for (;;) {
      ncclResult_t state = ncclSuccess;
      check_nccl(ncclCommGetAsyncError(comm_, &state), "ncclCommGetAsyncError");
      if (state == ncclSuccess) return;
      if (state != ncclInProgress) check_nccl(state, op);
      if (Clock::now() > deadline) time_out(op);
      std::this_thread::yield();
    }
  }

  [[noreturn]] void time_out(const char* op) {
    const std::string message =
        where(op) + " did not finish within " + std::to_string(timeout_.count() / 1000) +
        " s: another rank died, hangs or stopped calling collectives; the communicator was aborted "
        "(PIXSYN_DIST_TIMEOUT sets the limit in seconds)";
    abort(message);
    throw Error(message);
  }

  // Orders pixsyn's stream after the started reductions (mutex_ held).
  void join_started() {
    if (!started_) return;
    check_not_aborted("wait_started");
    check_cuda(cudaStreamWaitEvent(stream_, started_done_, 0), "cudaStreamWaitEvent");
    started_ = false;
    ncclResult_t state = ncclSuccess;
    check_nccl(ncclCommGetAsyncError(comm_, &state), "ncclCommGetAsyncError");
    if (state != ncclSuccess && state != ncclInProgress) check_nccl(state, "start_all_reduce");
  }

  void end_communicator() noexcept {
    if (comm_ == nullptr) return;
    if (!aborted_) {
      // A clean end: finalize (bounded), then destroy; on any trouble abort instead.
      try {
        check_nccl(ncclCommFinalize(comm_), "ncclCommFinalize");
        settle("finalize", Clock::now() + timeout_);
        ncclCommDestroy(comm_);
        return;
      } catch (...) {
      }
    }
    if (!aborted_.exchange(true)) ncclCommAbort(comm_);
  }

  // Enqueues one NCCL operation on pixsyn's stream, after the started reductions, and waits until it
  // completed on the GPU, polling for asynchronous errors (a peer's failure) and the timeout.
  template <class Launch>
  void enqueue(const char* op, Launch launch) {
    check_not_aborted(op);
    join_started();
    const auto deadline = Clock::now() + timeout_;
    const ncclResult_t status = launch();
    if (status != ncclInProgress) check_nccl(status, op);
    settle(op, deadline);
    check_cuda(cudaEventRecord(done_, stream_), "cudaEventRecord");
    for (int spins = 0;; ++spins) {
      const cudaError_t q = cudaEventQuery(done_);
      if (q == cudaSuccess) return;
      if (q != cudaErrorNotReady) check_cuda(q, op);
      ncclResult_t state = ncclSuccess;
      check_nccl(ncclCommGetAsyncError(comm_, &state), "ncclCommGetAsyncError");
      if (state != ncclSuccess && state != ncclInProgress) check_nccl(state, op);
      if (Clock::now() > deadline) time_out(op);
      if (spins < 1000)
        std::this_thread::yield();
      else
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  int rank_, world_;
  std::chrono::milliseconds timeout_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t done_ = nullptr;
  // start_all_reduce's stream (made on first use), its start event and the end of the last one started.
  cudaStream_t comm_stream_ = nullptr;
  cudaEvent_t queued_ = nullptr, started_done_ = nullptr;
  bool started_ = false;
  void* scratch_ = nullptr;
  std::mutex mutex_;
  std::atomic<bool> aborted_{false};
  std::mutex reason_mutex_;
  std::string reason_;
};

}  // namespace

NcclOptions nccl_options_from_environment() {
  NcclOptions options;
  if (const char* text = std::getenv("PIXSYN_DIST_TIMEOUT"); text != nullptr) {
    const int seconds = detail::parse_int("PIXSYN_DIST_TIMEOUT", text, 1, 7 * 24 * 3600);
    options.timeout = std::chrono::seconds(seconds);
    options.rendezvous.timeout = std::chrono::seconds(seconds);
  }
  return options;
}

std::unique_ptr<Communicator> nccl_communicator(const Environment& env, const NcclOptions& options) {
  return std::make_unique<NcclCommunicator>(env, options);
}

int visible_gpus() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess ? count : 0;
}

}  // namespace pixsyn::dist
