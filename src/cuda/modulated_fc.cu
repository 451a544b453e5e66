// The modulated FC layer on the GPU (see include/pixsyn/backend/cuda/modulated_fc.hpp).
#include "common.cuh"
#include "fold.cuh"
#include "gemm.cuh"
#include "pixsyn/backend/cuda/modulated_fc.hpp"

namespace pixsyn::backend::cuda {

namespace {

template <class T>
void modulated_fc_impl(std::int64_t batch, std::int64_t pixels, std::int64_t in, std::int64_t out, const T* x,
                       bool x_shared, const T* w, const T* s, bool demodulate, T eps, T* y) {
  if (batch == 0 || out == 0 || pixels == 0) return;
  const std::size_t bytes = sizeof(T) * static_cast<std::size_t>(batch * out * (in > 0 ? in : 1));
  T* wb = static_cast<T*>(allocate(bytes));
  fold_styles<<<static_cast<unsigned>(batch * out), block_size, 0, stream()>>>(in, out, w, s, in, demodulate, eps,
                                                                               out * in, wb);
  check_launch("modulated_fc");
  constexpr auto type = std::is_same_v<T, float> ? CUDA_R_32F : CUDA_R_64F;
  constexpr auto compute = std::is_same_v<T, float> ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_64F;
  // Column-major per sample: yᵀ (O, P) = wbᵀᵀ (O, I) xᵀ (I, P).
  gemm_ex(true, false, out, pixels, in, wb, type, in, out * in, x, type, in, x_shared ? 0 : pixels * in, 0.0, y, type,
          out, pixels * out, batch, compute, "modulated_fc");
  deallocate(wb);
}

}  // namespace

void modulated_fc(std::int64_t batch, std::int64_t pixels, std::int64_t in, std::int64_t out, const float* x,
                  bool x_shared, const float* w, const float* s, bool demodulate, float eps, float* y) {
  modulated_fc_impl(batch, pixels, in, out, x, x_shared, w, s, demodulate, eps, y);
}
void modulated_fc(std::int64_t batch, std::int64_t pixels, std::int64_t in, std::int64_t out, const double* x,
                  bool x_shared, const double* w, const double* s, bool demodulate, double eps, double* y) {
  modulated_fc_impl(batch, pixels, in, out, x, x_shared, w, s, demodulate, eps, y);
}

}  // namespace pixsyn::backend::cuda
