// What the fused renderers share on the host side (see include/pixsyn/backend/cuda/fast_render.hpp).
#include "common.cuh"
#include "fast_render.cuh"
#include "gemm.cuh"
#include "pixsyn/backend/cuda/fast_render.hpp"
#if PIXSYN_CUDA_SM90
#include "sm90/fused_layer.cuh"
#endif

namespace pixsyn::backend::cuda {

namespace {
std::size_t pool_attribute(cudaMemPoolAttr attribute) {
  cudaMemPool_t pool;
  check_cuda(cudaDeviceGetMemPool(&pool, Context::instance().device()), "memory pool", "cudaDeviceGetMemPool");
  std::uint64_t value = 0;
  check_cuda(cudaMemPoolGetAttribute(pool, attribute, &value), "memory pool", "cudaMemPoolGetAttribute");
  return static_cast<std::size_t>(value);
}

// styles (B, R) += modulation bias (R)
__global__ void add_style_bias(std::int64_t batch, std::int64_t rows, const float* bias, float* styles) {
  PIXSYN_GRID_STRIDE(t, batch * rows) styles[t] += bias[t % rows];
}
}  // namespace

void compute_styles(std::int64_t batch, std::int64_t rows, std::int64_t dim, const float* m, const float* bias,
                    const float* w, float* styles, const char* op) {
  gemm_ex(true, false, rows, batch, dim, m, CUDA_R_32F, dim, 0, w, CUDA_R_32F, dim, 0, 0.0, styles, CUDA_R_32F, rows, 0,
          1, CUBLAS_COMPUTE_32F, op);
  add_style_bias<<<grid_for(batch * rows), block_size, 0, stream()>>>(batch, rows, bias, styles);
  check_launch(op);
}

bool fused_layers_supported() {
#if PIXSYN_CUDA_SM90
  return sm90::available();
#else
  return false;
#endif
}

std::size_t pool_used_bytes() { return pool_attribute(cudaMemPoolAttrUsedMemCurrent); }
std::size_t pool_peak_bytes() { return pool_attribute(cudaMemPoolAttrUsedMemHigh); }

void reset_pool_peak() {
  cudaMemPool_t pool;
  check_cuda(cudaDeviceGetMemPool(&pool, Context::instance().device()), "reset_pool_peak", "cudaDeviceGetMemPool");
  std::uint64_t zero = 0;
  check_cuda(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &zero), "reset_pool_peak",
             "cudaMemPoolSetAttribute");
}

}  // namespace pixsyn::backend::cuda
