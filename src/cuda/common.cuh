#pragma once
// Device-side helpers shared by the CUDA translation units: error checks, the context's stream and
// library handles, launch geometry. Included from .cu files only.
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "pixsyn/backend/cuda/runtime.hpp"

namespace pixsyn::backend::cuda {

// Throws pixsyn::Error naming the op, the CUDA call and CUDA's error string.
void check_cuda(cudaError_t err, const char* op, const char* call);
void check_cublas(cublasStatus_t status, const char* op, const char* call);
// After a kernel launch: reports launch failures (bad configuration, missing kernel image).
inline void check_launch(const char* op) { check_cuda(cudaGetLastError(), op, "kernel launch"); }

// The default context's stream and library handles, typed (runtime.hpp hands them out as void*).
inline cudaStream_t stream() { return static_cast<cudaStream_t>(Context::instance().stream()); }
inline cublasHandle_t cublas() { return static_cast<cublasHandle_t>(Context::instance().cublas_handle()); }
inline cublasLtHandle_t cublas_lt() { return static_cast<cublasLtHandle_t>(Context::instance().cublaslt_handle()); }

inline constexpr int block_size = 256;

// Blocks for a grid-stride loop over n elements: enough to fill the GPU, never more than needed.
inline unsigned grid_for(std::int64_t n) {
  const std::int64_t blocks = (n + block_size - 1) / block_size;
  return static_cast<unsigned>(blocks < 65536 ? (blocks > 0 ? blocks : 1) : 65536);
}

// A grid-stride loop: `i` visits 0 .. n-1 across all threads of the launch.
#define PIXSYN_GRID_STRIDE(i, n)                                                      \
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < (n); \
       i += std::int64_t(blockDim.x) * gridDim.x)

}  // namespace pixsyn::backend::cuda
