// The CUDA context, memory, copies, fills and Philox random numbers.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include "common.cuh"
#include "pixsyn/core/error.hpp"
#include "pixsyn/core/philox.hpp"
#include "strided_index.cuh"

#ifndef PIXSYN_CUDA_ARCHITECTURES
#error "PIXSYN_CUDA_ARCHITECTURES must name the compiled architectures (CMake passes CMAKE_CUDA_ARCHITECTURES)"
#endif

namespace pixsyn::backend::cuda {

void check_cuda(cudaError_t err, const char* op, const char* call) {
  if (err != cudaSuccess)
    pixsyn::detail::fail(op, ": ", call, " failed on the cuda device: ", cudaGetErrorName(err), " (",
                         cudaGetErrorString(err), ")");
}

void check_cublas(cublasStatus_t status, const char* op, const char* call) {
  if (status != CUBLAS_STATUS_SUCCESS)
    pixsyn::detail::fail(op, ": ", call, " failed on the cuda device: ", cublasGetStatusName(status), " (",
                         cublasGetStatusString(status), ")");
}

namespace {

std::atomic<bool> poison{false}, wide_indices{false};
std::atomic<std::int64_t> narrow_limit{0};  // 0: none set (limit_narrow_indices)

// True when code compiled for `list` (CMAKE_CUDA_ARCHITECTURES, e.g. "90" or "80-real;90") runs on a
// device of compute capability `cc` (major * 10 + minor): SASS for exactly cc, or PTX for cc or older.
bool architecture_supported(const std::string& list, int cc) {
  std::stringstream entries(list);
  std::string entry;
  while (std::getline(entries, entry, ';')) {
    if (entry == "native" || entry == "all" || entry == "all-major") return true;
    const bool real_only = entry.find("-real") != std::string::npos;
    const bool ptx_only = entry.find("-virtual") != std::string::npos;
    const int arch = std::atoi(entry.c_str());
    if (!ptx_only && arch == cc) return true;
    if (!real_only && arch <= cc) return true;
  }
  return false;
}

}  // namespace

Context::Context() {
  const char* op = "cuda context";
  check_cuda(cudaGetDevice(&device_), op, "cudaGetDevice");
  cudaDeviceProp prop{};
  check_cuda(cudaGetDeviceProperties(&prop, device_), op, "cudaGetDeviceProperties");
  const int cc = prop.major * 10 + prop.minor;
  compute_capability_ = cc;
  pixsyn::detail::check(architecture_supported(PIXSYN_CUDA_ARCHITECTURES, cc), "pixsyn cuda: device ", device_, " (",
                        prop.name, ") has compute capability ", prop.major, ".", prop.minor,
                        " but pixsyn was compiled for CMAKE_CUDA_ARCHITECTURES=", PIXSYN_CUDA_ARCHITECTURES,
                        "; reconfigure with -DCMAKE_CUDA_ARCHITECTURES=", cc);
  cudaStream_t s = nullptr;
  check_cuda(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), op, "cudaStreamCreateWithFlags");
  stream_ = s;
  // Keep freed blocks in the pool instead of returning them to the driver at every synchronisation.
  cudaMemPool_t pool = nullptr;
  check_cuda(cudaDeviceGetDefaultMemPool(&pool, device_), op, "cudaDeviceGetDefaultMemPool");
  std::uint64_t threshold = UINT64_MAX;
  check_cuda(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold), op, "cudaMemPoolSetAttribute");
}

// Never destroyed: a tensor freed during static destruction still needs a stream. The release at exit is
// registered after the CUDA runtime initialised (in the constructor), so it runs before the runtime's own
// teardown.
Context& Context::instance() {
  static Context* context = [] {
    auto* c = new Context();
    std::atexit([] { instance().release(); });
    return c;
  }();
  return *context;
}

// Errors are ignored here: the process is exiting, and each call's failure was or will be reported where
// the work was queued. What runs afterwards (a tensor freed later) uses the legacy default stream.
void Context::release() noexcept {
  auto s = static_cast<cudaStream_t>(stream_);
  cudaStreamSynchronize(s);
  if (cublas_) cublasDestroy(static_cast<cublasHandle_t>(cublas_));
  if (cublaslt_) cublasLtDestroy(static_cast<cublasLtHandle_t>(cublaslt_));
  cublas_ = cublaslt_ = stream_ = nullptr;
  cudaStreamDestroy(s);
  cudaMemPool_t pool = nullptr;
  if (cudaDeviceGetDefaultMemPool(&pool, device_) == cudaSuccess) cudaMemPoolTrimTo(pool, 0);
}

void* Context::cublas_handle() {
  if (!cublas_) {
    cublasHandle_t h = nullptr;
    check_cublas(cublasCreate(&h), "cuda context", "cublasCreate");
    check_cublas(cublasSetStream(h, static_cast<cudaStream_t>(stream_)), "cuda context", "cublasSetStream");
    cublas_ = h;
  }
  return cublas_;
}

void* Context::cublaslt_handle() {
  if (!cublaslt_) {
    cublasLtHandle_t h = nullptr;
    check_cublas(cublasLtCreate(&h), "cuda context", "cublasLtCreate");
    cublaslt_ = h;
  }
  return cublaslt_;
}

void* allocate(std::size_t bytes) {
  void* p = nullptr;
  bytes = bytes == 0 ? 1 : bytes;  // a non-null pointer even for empty tensors: Tensor::defined() tests it
  const cudaError_t err = cudaMallocAsync(&p, bytes, stream());
  if (err != cudaSuccess)
    pixsyn::detail::fail("allocate: cudaMallocAsync of ", bytes,
                         " bytes failed on the cuda device: ", cudaGetErrorName(err), " (", cudaGetErrorString(err),
                         ")");
  if (poison.load(std::memory_order_relaxed))
    check_cuda(cudaMemsetAsync(p, 0xFF, bytes, stream()), "allocate", "cudaMemsetAsync");
  return p;
}

// Runs in shared_ptr deleters, so it cannot throw; at process exit the runtime may already be gone.
void deallocate(void* p) noexcept {
  if (!p) return;
  const cudaError_t err = cudaFreeAsync(p, stream());
  if (err != cudaSuccess && err != cudaErrorCudartUnloading)
    std::fprintf(stderr, "pixsyn: cudaFreeAsync failed: %s\n", cudaGetErrorString(err));
}

void copy_to_device(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream()), "to_device", "cudaMemcpyAsync");
}

void copy_to_host(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream()), "to_host", "cudaMemcpyAsync");
  check_cuda(cudaStreamSynchronize(stream()), "to_host", "cudaStreamSynchronize");
}

void copy_on_device(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream()), "clone", "cudaMemcpyAsync");
}

void synchronize() { check_cuda(cudaStreamSynchronize(stream()), "synchronize", "cudaStreamSynchronize"); }

void set_poison_allocations(bool on) { poison.store(on, std::memory_order_relaxed); }

void force_wide_indices(bool on) { wide_indices.store(on, std::memory_order_relaxed); }
bool wide_indices_forced() { return wide_indices.load(std::memory_order_relaxed); }

void limit_narrow_indices(std::int64_t elements) { narrow_limit.store(elements, std::memory_order_relaxed); }
std::int64_t narrow_index_limit() {
  if (wide_indices_forced()) return 0;
  const std::int64_t set = narrow_limit.load(std::memory_order_relaxed), full = std::int64_t(1) << 30;
  return set > 0 && set < full ? std::max<std::int64_t>(set, 2) : full;
}

namespace {

template <class T>
__global__ void fill_kernel(T* p, std::int64_t n, T value) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(blockDim.x) * gridDim.x)
    p[i] = value;
}

// The same formulas as Tensor<T, Cpu>::randn / rand (core/philox.hpp), so both devices draw equal numbers.
// Normals come in rows of `cols`, row r from the stream at block offset + r · row_step.
template <class T>
__global__ void normal_kernel(T* p, std::int64_t n, std::int64_t cols, std::uint64_t seed, std::uint64_t offset,
                              std::uint64_t row_step) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(blockDim.x) * gridDim.x) {
    const auto row = static_cast<std::uint64_t>(i / cols), col = static_cast<std::uint64_t>(i % cols);
    p[i] = static_cast<T>(pixsyn::detail::philox_normal(seed, offset + row * row_step, col));
  }
}

template <class T>
__global__ void uniform_kernel(T* p, std::int64_t n, std::uint64_t seed, std::uint64_t offset) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(blockDim.x) * gridDim.x)
    p[i] = static_cast<T>(pixsyn::detail::philox_uniform(seed, offset, static_cast<std::uint64_t>(i)));
}

}  // namespace

template <class T>
void fill(T* p, std::int64_t n, T value) {
  if (n == 0) return;
  fill_kernel<<<grid_for(n), block_size, 0, stream()>>>(p, n, value);
  check_launch("fill");
}

template <class T>
void random_normal(T* p, std::int64_t n, std::uint64_t seed, std::uint64_t offset) {
  if (n == 0) return;
  normal_kernel<<<grid_for(n), block_size, 0, stream()>>>(p, n, n, seed, offset, 0);
  check_launch("randn");
}

template <class T>
void random_normal_rows(T* p, std::int64_t rows, std::int64_t cols, std::uint64_t seed, std::uint64_t offset,
                        std::uint64_t row_step) {
  if (rows == 0 || cols == 0) return;
  normal_kernel<<<grid_for(rows * cols), block_size, 0, stream()>>>(p, rows * cols, cols, seed, offset, row_step);
  check_launch("random_normal_rows");
}

template <class T>
void random_uniform(T* p, std::int64_t n, std::uint64_t seed, std::uint64_t offset) {
  if (n == 0) return;
  uniform_kernel<<<grid_for(n), block_size, 0, stream()>>>(p, n, seed, offset);
  check_launch("rand");
}

template void fill<float>(float*, std::int64_t, float);
template void fill<double>(double*, std::int64_t, double);
template void fill<std::int64_t>(std::int64_t*, std::int64_t, std::int64_t);
template void random_normal<float>(float*, std::int64_t, std::uint64_t, std::uint64_t);
template void random_normal<double>(double*, std::int64_t, std::uint64_t, std::uint64_t);
template void random_normal_rows<float>(float*, std::int64_t, std::int64_t, std::uint64_t, std::uint64_t,
                                        std::uint64_t);
template void random_normal_rows<double>(double*, std::int64_t, std::int64_t, std::uint64_t, std::uint64_t,
                                         std::uint64_t);
template void random_uniform<float>(float*, std::int64_t, std::uint64_t, std::uint64_t);
template void random_uniform<double>(double*, std::int64_t, std::uint64_t, std::uint64_t);

}  // namespace pixsyn::backend::cuda
