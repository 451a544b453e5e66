#pragma once
// One modulated layer of the CIPS and CREPS renderers as a single Hopper kernel (sm_90a): TMA loads of the
// activations and of the sample's folded weights, wgmma with fp32 accumulation, and the layer's whole
// epilogue (noise, bias, leaky ReLU·√2, CREPS's clamp, residual, ToRGB dot products) applied to the
// accumulators before one store. E is the activations' type:
// - 16 bits: bf16 (CIPS: its layers have no clamp, so they need bf16's range) or fp16 (CREPS: 8× finer,
//   and its layers clamp to ±256, far inside fp16's range), the operands as they are;
// - float: fp32 at fp32 accuracy, "3×TF32" on the tensor cores (backend/cuda/split_gemm.hpp): the weights
//   come split ([h | r | h] rows), each activation is split into its TF32 head and remainder in registers,
//   and per 32-deep chunk of K the products r_a·h_b and h_a·r_b, then h_a·h_b, are summed on the tensor
//   cores from zero and added into an fp32 register accumulator. Short sums on the tensor cores keep their
//   truncation error small (the cuBLAS split path needs extra passes over the result for that).
// Built only when CMAKE_CUDA_ARCHITECTURES names 90. Included from .cu files.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace pixsyn::backend::cuda::sm90 {

// Output channels per tile: the ToRGB partial sums come in ceil(out / tile_out<E>) parts per point. The fp32
// kernel holds two accumulators (the tensor cores' and the promoted one), so its tiles are half as wide.
template <class E>
inline constexpr std::int64_t tile_out = sizeof(E) == 4 ? 128 : 256;

// Whether the current GPU runs the kernel (compute capability 9.0; sm_90a code is for that only).
bool available();

template <class E>
struct FusedLayer {
  // z (samples, count, out) = epilogue(x · weight[b]ᵀ), x (samples, count, in) or (count, in) shared
  std::int64_t samples = 0, count = 0, in = 0, out = 0;
  const E* x = nullptr;
  bool shared_x = false;
  const E* weight = nullptr;  // (samples, out, in), weight_stride elements apart; float: rows split, 3·in long
  std::int64_t weight_stride = 0;
  const float* bias = nullptr;  // (out)
  bool noise = false;           // seeded noise as nn::NoiseSource: sample sample0 + b, point first + p
  float noise_weight = 0;
  std::uint64_t seed = 0, layer = 0, sample0 = 0, first = 0;
  const E* residual = nullptr;        // (samples, count, out): v = (v + residual) / √2, or null
  const float* rgb_weight = nullptr;  // (samples, 3, out) folded ToRGB, rgb_weight_stride apart, or null
  std::int64_t rgb_weight_stride = 0;
  float* rgb_partial = nullptr;  // (ceil(out / tile_out<E>), samples·count, 3) ToRGB sums without the bias
  E* z = nullptr;                // the activations, or null when only the ToRGB sums are needed
  float clamp = 0;  // > 0: the activations are clamped to ±clamp (CREPS; without noise, residual or ToRGB)
};

// Throws pixsyn::Error when the shapes do not suit the kernel (in, out multiples of 8). Defined for
// E = __nv_bfloat16, __half and float.
template <class E>
void fused_layer(const FusedLayer<E>& layer, cudaStream_t stream);

}  // namespace pixsyn::backend::cuda::sm90
