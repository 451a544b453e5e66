#pragma once
// What the fused GPU renderers (CIPS in cips_fast.hpp, CREPS in creps_fast.hpp) share: the precision
// modes, one modulated layer's host weights, whether the fused Hopper layers can run here, and the memory
// pool's statistics. Plain C++ (definitions in src/cuda/fast_render.cu).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace pixsyn::backend::cuda {

// fp32 matches the CPU render (≤ 1e-5 relative); bf16 keeps weights and activations in bf16 with fp32
// accumulation and runs on the tensor cores.
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
