#pragma once
// What the fused GPU renderers (CIPS in cips_fast.hpp, CREPS in creps_fast.hpp) share: the precision
// modes, one modulated layer's host weights, whether the fused Hopper layers can run here, and the memory
// pool's statistics. Plain C++ (definitions in src/cuda/fast_render.cu).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace pixsyn::backend::cuda {

// fp32 matches the CPU render (≤ 1e-5 relative); bf16 is the 16-bit mode: weights and activations in 16
// bits with fp32 accumulation, on the tensor cores. The 16 bits are bf16 for CIPS and fp16 for CREPS (whose
// layers clamp their outputs, so fp16's range suffices and its 8× finer mantissa keeps it within 1e-2).
enum class Precision { fp32, bf16 };

// One modulated FC layer, host fp32, runtime scales already applied (as the CPU layers apply them).
struct ModulatedLayer {
  std::int64_t in = 0, out = 0;
  std::vector<float> weight;           // (out, in), its runtime gain applied
  std::vector<float> modulation;       // (in, style_dim): the style affine, its gain applied
  std::vector<float> modulation_bias;  // (in)
  std::vector<float> bias;             // (out), added after the modulated product
  float noise_weight = 0;              // CIPS StyledConvs only
};

// Whether bf16 renders can take the fused Hopper layers here: built for sm_90a and a compute
// capability 9.0 GPU.
bool fused_layers_supported();

// The memory pool's bytes in use now, their high-water mark (cudaMemPoolAttrUsedMemHigh), and its reset.
std::size_t pool_used_bytes();
std::size_t pool_peak_bytes();
void reset_pool_peak();

}  // namespace pixsyn::backend::cuda
