// The modulated FC layer on the GPU (see include/pixsyn/backend/cuda/modulated_fc.hpp).
#include "common.cuh"
#include "gemm.cuh"
#include "pixsyn/backend/cuda/modulated_fc.hpp"

namespace pixsyn::backend::cuda {

namespace {

// One block per (sample, output channel): wb[b, o, i] = d[b, o] w[o, i] s[b, i].
template <class T>
__global__ void fold_styles(std::int64_t in, std::int64_t out, const T* w, const T* s, bool demodulate, T eps, T* wb) {
  const std::int64_t b = blockIdx.x / out, o = blockIdx.x % out;
  const T* row = w + o * in;
  const T* style = s + b * in;
  T d = 1;
  if (demodulate) {
    __shared__ T partial[block_size];
    T sum = 0;
    for (std::int64_t i = threadIdx.x; i < in; i += blockDim.x) {
      const T v = row[i] * style[i];
      sum += v * v;
    }
    partial[threadIdx.x] = sum;
    __syncthreads();
    for (int half = blockDim.x / 2; half > 0; half /= 2) {
      if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
      __syncthreads();
    }
    d = T(1) / sqrt(partial[0] + eps);
  }
  T* dst = wb + blockIdx.x * in;
  for (std::int64_t i = threadIdx.x; i < in; i += blockDim.x) dst[i] = d * row[i] * style[i];
}

template <class T>
void modulated_fc_impl(std::int64_t batch, std::int64_t pixels, std::int64_t in, std::int64_t out, const T* x,
                       const T* w, const T* s, bool demodulate, T eps, T* y) {
  if (batch == 0 || out == 0 || pixels == 0) return;
  const std::size_t bytes = sizeof(T) * static_cast<std::size_t>(batch * out * (in > 0 ? in : 1));
  T* wb = static_cast<T*>(allocate(bytes));
  fold_styles<<<static_cast<unsigned>(batch * out), block_size, 0, stream()>>>(in, out, w, s, demodulate, eps, wb);
  check_launch("modulated_fc");
  constexpr auto type = std::is_same_v<T, float> ? CUDA_R_32F : CUDA_R_64F;
  constexpr auto compute = std::is_same_v<T, float> ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_64F;
  // Column-major per sample: yᵀ (O, P) = wbᵀᵀ (O, I) xᵀ (I, P).
  gemm_ex(true, false, out, pixels, in, wb, type, in, out * in, x, type, in, pixels * in, 0.0, y, type, out,
          pixels * out, batch, compute, "modulated_fc");
  deallocate(wb);
}

}  // namespace

void modulated_fc(std::int64_t batch, std::int64_t pixels, std::int64_t in, std::int64_t out, const float* x,
                  const float* w, const float* s, bool demodulate, float eps, float* y) {
  modulated_fc_impl(batch, pixels, in, out, x, w, s, demodulate, eps, y);
}
void modulated_fc(std::int64_t batch, std::int64_t pixels, std::int64_t in, std::int64_t out, const double* x,
                  const double* w, const double* s, bool demodulate, double eps, double* y) {
  modulated_fc_impl(batch, pixels, in, out, x, w, s, demodulate, eps, y);
}

}  // namespace pixsyn::backend::cuda
