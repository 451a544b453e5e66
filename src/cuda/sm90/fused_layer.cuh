#pragma once
// One modulated layer of the 16-bit CIPS and CREPS renderers as a single Hopper kernel (sm_90a): TMA
// loads of the activations and of the sample's folded weights, wgmma with fp32 accumulation, and the
// layer's whole epilogue (noise, bias, leaky ReLU·√2, CREPS's clamp, residual, ToRGB dot products)
// applied to the accumulators before one 16-bit store. The operands are bf16 (CIPS: its layers have no
// clamp, so they need bf16's range) or fp16 (CREPS: 8× finer, and its layers clamp to ±256, far inside
// fp16's range), E = __nv_bfloat16 or __half. Built only when CMAKE_CUDA_ARCHITECTURES names 90. Included
// from .cu files.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace pixsyn::backend::cuda::sm90 {

// Output channels per tile: the ToRGB partial sums come in ceil(out / tile_out) parts per point.
inline constexpr std::int64_t tile_out = 256;

// Whether the current GPU runs the kernel (compute capability 9.0; sm_90a code is for that only).
bool available();

template <class E>
struct FusedLayer {
  // z (samples, count, out) = epilogue(x · weight[b]ᵀ), x (samples, count, in) or (count, in) shared
  std::int64_t samples = 0, count = 0, in = 0, out = 0;
  const E* x = nullptr;
  bool shared_x = false;
  const E* weight = nullptr;  // (samples, out, in), weight_stride elements apart
  std::int64_t weight_stride = 0;
  const float* bias = nullptr;  // (out)
  bool noise = false;           // seeded noise as nn::NoiseSource: sample sample0 + b, point first + p
  float noise_weight = 0;
  std::uint64_t seed = 0, layer = 0, sample0 = 0, first = 0;
  const E* residual = nullptr;        // (samples, count, out): v = (v + residual) / √2, or null
  const float* rgb_weight = nullptr;  // (samples, 3, out) folded ToRGB, rgb_weight_stride apart, or null
  std::int64_t rgb_weight_stride = 0;
  float* rgb_partial = nullptr;  // (ceil(out / tile_out), samples·count, 3) ToRGB sums without the bias
  E* z = nullptr;                // the activations, or null when only the ToRGB sums are needed
  float clamp = 0;  // > 0: the activations are clamped to ±clamp (CREPS; without noise, residual or ToRGB)
};

// Throws pixsyn::Error when the shapes do not suit the kernel (in, out multiples of 8). Defined for
// E = __nv_bfloat16 and __half.
template <class E>
void fused_layer(const FusedLayer<E>& layer, cudaStream_t stream);

}  // namespace pixsyn::backend::cuda::sm90
