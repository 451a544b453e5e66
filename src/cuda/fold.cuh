#pragma once
// Folding per-sample styles into a modulated layer's weights, shared by the modulated_fc op and the
// fused CIPS renderer. Included from .cu files only.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "common.cuh"
#include "tf32_split.cuh"

namespace pixsyn::backend::cuda {

// v as Out: itself, or rounded to the nearest bf16 or fp16 (the conversions in use, from float).
template <class Out, class T>
__device__ __forceinline__ Out convert_to(T v) {
  if constexpr (std::is_same_v<Out, T>)
    return v;
  else if constexpr (std::is_same_v<Out, __half>)
    return __float2half_rn(v);
  else
    return __float2bfloat16_rn(v);
}

// One block per (sample b, output channel o): folded[b, o, i] = d w[o, i] s[b, i], with d the
// demodulation 1 / sqrt(Σ_i (w s)² + eps) or 1. Sample b's styles start at styles + b style_stride and
// its folded weights at folded + b sample_stride. Split (fp32 only): each row of `in` values is stored
// split for a 3×TF32 GEMM as that side (tf32_split.cuh), 3·in floats. Launch with block_size threads.
template <class T, class Out, bool Split = false>
__global__ void fold_styles(std::int64_t in, std::int64_t out, const T* w, const T* styles, std::int64_t style_stride,
                            bool demodulate, T eps, std::int64_t sample_stride, Out* folded,
                            SplitSide side = SplitSide::right) {
  const std::int64_t b = blockIdx.x / out, o = blockIdx.x % out;
  const T* row = w + o * in;
  const T* s = styles + b * style_stride;
  T d = 1;
  if (demodulate) {
    __shared__ T partial[block_size];
    T sum = 0;
    for (std::int64_t i = threadIdx.x; i < in; i += blockDim.x) {
      const T v = row[i] * s[i];
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
  if constexpr (Split) {
    static_assert(std::is_same_v<T, float> && std::is_same_v<Out, float>, "fold_styles: only fp32 splits");
    Out* dst = folded + b * sample_stride + o * 3 * in;
    for (std::int64_t i = threadIdx.x; i < in; i += blockDim.x) store_split(d * row[i] * s[i], dst, in, i, side);
  } else {
    Out* dst = folded + b * sample_stride + o * in;
    for (std::int64_t i = threadIdx.x; i < in; i += blockDim.x) dst[i] = convert_to<Out>(d * row[i] * s[i]);
  }
}

// As fold_styles with one warp per (sample, output channel) row and a warp reduction (no block barriers):
// for the many rows of the fast renderers' wide layers. Launch block_size threads, ceil(samples · out / 8) blocks.
// Split: rows stored split as the right factor of a 3×TF32 GEMM (3 in floats).
template <class Out, bool Split = false>
__global__ void fold_styles_warp(std::int64_t samples, std::int64_t in, std::int64_t out, const float* w,
                                 const float* styles, std::int64_t style_stride, bool demodulate, float eps,
                                 std::int64_t sample_stride, Out* folded) {
  const std::int64_t r = blockIdx.x * std::int64_t(blockDim.x / 32) + threadIdx.x / 32;
  if (r >= samples * out) return;
  const int lane = threadIdx.x % 32;
  const std::int64_t b = r / out, o = r % out;
  const float* row = w + o * in;
  const float* s = styles + b * style_stride;
  float d = 1;
  if (demodulate) {
    float sum = 0;
    for (std::int64_t i = lane; i < in; i += 32) {
      const float v = row[i] * s[i];
      sum += v * v;
    }
    for (int m = 16; m > 0; m /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, m);
    d = 1.0f / sqrtf(sum + eps);
  }
  if constexpr (Split) {
    static_assert(std::is_same_v<Out, float>, "fold_styles_warp: only fp32 splits");
    Out* dst = folded + b * sample_stride + o * 3 * in;
    for (std::int64_t i = lane; i < in; i += 32) store_split(d * row[i] * s[i], dst, in, i, SplitSide::right);
  } else {
    Out* dst = folded + b * sample_stride + o * in;
    for (std::int64_t i = lane; i < in; i += 32) dst[i] = convert_to<Out>(d * row[i] * s[i]);
  }
}

}  // namespace pixsyn::backend::cuda
