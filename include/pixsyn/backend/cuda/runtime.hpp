#pragma once
// The CUDA device: the process-wide context (one stream, a stream-ordered memory pool, cuBLAS
// handles), device memory for Tensor<T, Cuda>, fills, copies and Philox random numbers, and the
// host<->device transfers. Plain C++: the definitions live in src/cuda/runtime.cu (link pixsyn::cuda).
#include <cstddef>
#include <cstdint>
#include <memory>

#include "pixsyn/core/device.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::backend::cuda {

// One stream per context; every pixsyn kernel, copy and allocation is ordered on it. Created on first
// use, after checking that the GPU's compute capability is among the compiled architectures. At exit the
// context waits for its stream and releases what it owns (the stream, the library handles, the pool's
// free memory); the process-wide CUDA context itself stays, as other code in the process may use it.
class Context {
 public:
  static Context& instance();
  void* stream() const { return stream_; }  // a cudaStream_t (the legacy default stream after exit began)
  void* cublas_handle();                    // a cublasHandle_t bound to stream(), created on first use
  void* cublaslt_handle();                  // a cublasLtHandle_t, created on first use
  int device() const { return device_; }
  int compute_capability() const { return compute_capability_; }  // major * 10 + minor
  // TF32 math for fp32 GEMMs, like torch.backends.cuda.matmul.allow_tf32: every GEMM of fp32 operands
  // (matmul, linear, the convolutions' im2col products, the fused renderers' SGEMMs) runs on the tensor cores
  // with its inputs rounded to TF32 (10 mantissa bits) and fp32 accumulation. Off by default: strict fp32,
  // which equals the CPU to rounding. `pixsyn train --precision tf32` turns it on.
  bool allow_tf32() const { return allow_tf32_; }
  void set_allow_tf32(bool on) { allow_tf32_ = on; }

  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

 private:
  Context();
  void release() noexcept;
  int device_ = 0, compute_capability_ = 0;
  bool allow_tf32_ = false;
  void* stream_ = nullptr;
  void* cublas_ = nullptr;
  void* cublaslt_ = nullptr;
};

// Stream-ordered device memory from the context's pool (cudaMallocAsync / cudaFreeAsync).
void* allocate(std::size_t bytes);
void deallocate(void* p) noexcept;
// Host-to-device and device-to-device copies are ordered on the stream; to-host copies wait for it.
void copy_to_device(void* dst, const void* src, std::size_t bytes);
void copy_to_host(void* dst, const void* src, std::size_t bytes);
void copy_on_device(void* dst, const void* src, std::size_t bytes);
// Waits until all work queued on the context's stream has finished (and reports its errors).
void synchronize();

// Test hook: while on, every new allocation is filled with NaN bytes (0xFF) so that an op that
// leaves part of its output unwritten is caught.
void set_poison_allocations(bool on);
// Test hook: while on, the strided elementwise, copy and reduction kernels use their 64-bit index math even
// where 32 bits suffice, so that tests reach the path huge tensors take.
void force_wide_indices(bool on);
// Test hook: while set (elements > 0), those kernels take index spaces of `elements` or more (sizes or offsets)
// for too large for 32-bit index math, as they do those of 2^30 or more, and cut them into pieces that fit
// (strided_index.cuh); 0 restores 2^30. Small tensors then reach the pieces that huge ones are cut into.
void limit_narrow_indices(std::int64_t elements);

template <class T>
void fill(T* p, std::int64_t n, T value);
template <class T>
void random_normal(T* p, std::int64_t n, std::uint64_t seed, std::uint64_t offset);
template <class T>
void random_uniform(T* p, std::int64_t n, std::uint64_t seed, std::uint64_t offset);
// rows · cols normals, row r the first cols numbers of the stream at block offset + r · row_step (one launch
// for what would be `rows` calls of random_normal: per-sample noise maps).
template <class T>
void random_normal_rows(T* p, std::int64_t rows, std::int64_t cols, std::uint64_t seed, std::uint64_t offset,
                        std::uint64_t row_step);

}  // namespace pixsyn::backend::cuda

namespace pixsyn::detail {

template <>
struct Memory<Cuda> {
  static std::shared_ptr<void> allocate(std::size_t bytes) {
    return std::shared_ptr<void>(backend::cuda::allocate(bytes), [](void* p) { backend::cuda::deallocate(p); });
  }
};
template <>
struct DeviceFill<Cuda> {
  template <class T>
  static void fill(T* p, std::int64_t n, T value) {
    backend::cuda::fill(p, n, value);
  }
};
template <>
struct DeviceCopy<Cuda> {
  static void copy(void* dst, const void* src, std::int64_t bytes) {
    backend::cuda::copy_on_device(dst, src, static_cast<std::size_t>(bytes));
  }
};
template <>
struct DeviceRandom<Cuda> {
  template <class T>
  static void normal(T* p, std::int64_t n, std::uint64_t seed, std::uint64_t offset) {
    backend::cuda::random_normal(p, n, seed, offset);
  }
  template <class T>
  static void uniform(T* p, std::int64_t n, std::uint64_t seed, std::uint64_t offset) {
    backend::cuda::random_uniform(p, n, seed, offset);
  }
};

}  // namespace pixsyn::detail

namespace pixsyn {

template <class T>
Tensor<T, Cuda> to_device(const Tensor<T, Cpu>& x) {
  auto out = Tensor<T, Cuda>::empty(x.shape());
  backend::cuda::copy_to_device(out.data(), x.data(), static_cast<std::size_t>(x.numel()) * sizeof(T));
  return out;
}

// Waits for the GPU work that produces x, then copies it to the host.
template <class T>
Tensor<T, Cpu> to_host(const Tensor<T, Cuda>& x) {
  auto out = Tensor<T, Cpu>::empty(x.shape());
  backend::cuda::copy_to_host(out.data(), x.data(), static_cast<std::size_t>(x.numel()) * sizeof(T));
  return out;
}

}  // namespace pixsyn
