#pragma once
// The fused CIPS inference engine on the GPU (declarations; kernels in src/cuda/cips_fast.cu). It works
// on plain weight arrays (render/cuda_cips.hpp extracts them from a cips::Generator), so the .cu file
// never instantiates model types. Per StyledConv: the styles and demodulation are folded into
// per-sample weights, then over every pixel of the tile either ONE fused Hopper kernel (bf16, and fp32 as
// 3×TF32 on the tensor cores) or ONE strided-batched GEMM (fp32: 3×TF32 where the GPU has TF32 tensor
// cores) and ONE epilogue kernel; the epilogue adds noise and bias, applies leaky ReLU·√2 (and the
// residual sum), accumulates the ToRGB skip in fp32 and stores the next layer's input.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "pixsyn/backend/cuda/fast_render.hpp"
#include "pixsyn/backend/cuda/split_gemm.hpp"

namespace pixsyn::backend::cuda {

struct CipsWeights {
  std::int64_t style_dim = 0, hidden = 0, table_size = 0;
  bool fourier = true, learned = true;
  bool residual = false;              // CIPSres blocks and one final ToRGB, else CIPSskip
  std::vector<float> fourier_weight;  // (hidden, 2)
  std::vector<float> fourier_bias;    // (hidden)
  std::vector<float> table;           // the embedding, channels last (S, S, hidden)
  // Weights (out, in) · 1/√in, modulation (in, style_dim) · 1/√style_dim; bias: activate.bias of a
  // StyledConv, or the ToRGB bias (3).
  std::vector<ModulatedLayer> convs;          // the StyledConvs in forward order: first, then two per block
  std::vector<ModulatedLayer> to_rgbs;        // skips: one per block; residual: to_rgb_last
  std::vector<std::vector<float>> shortcuts;  // residual: per block, (out, in) · 1/√in, or empty (identity)
};

struct CipsRenderOptions {
  Precision precision = Precision::fp32;
  bool noise = false;  // seeded noise (nn::NoiseSource's formula), else none
  std::uint64_t noise_seed = 0;
  // The noise index of the call's first point: a band of a larger render draws that render's noise.
  std::uint64_t first_point = 0;
  std::size_t workspace_bytes = std::size_t(512) << 20;  // activations + per-sample weights of a tile
  std::int64_t max_pixels = 0;                           // (sample, point) pairs per tile; 0: from the budget
  bool graph = true;                                     // replay a captured CUDA graph when the same call repeats
  // On a compute capability 9.0 GPU, with channel counts that are multiples of 8: each StyledConv as one
  // kernel (wgmma GEMM with the epilogue fused), bf16, or fp32 as 3×TF32 (tf32_split > 0; the activations
  // split in registers, the tensor cores' sums promoted into fp32 every 32 of K); false, or elsewhere: a
  // cuBLAS GEMM and an epilogue pass.
  bool fused_layers = true;
  // fp32 on a GPU with TF32 tensor cores (compute capability 8.0 or newer): 3×TF32 products; on the
  // cuBLAS path every GEMM as a split GEMM (split_gemm.hpp) whose head products are summed in this many
  // accumulations (more: closer to SGEMM accuracy, slower); 0, or elsewhere: cuBLAS SGEMM.
  int tf32_split = default_split_accumulations;
};

class CipsEngine {
 public:
  explicit CipsEngine(const CipsWeights& weights);  // uploads the weights once
  ~CipsEngine();
  CipsEngine(const CipsEngine&) = delete;
  CipsEngine& operator=(const CipsEngine&) = delete;

  // w (batch, style_dim) fp32 on the device; points either xy (points, 2) on the HOST (copied into the
  // engine's own buffer, so that a repeated call can replay its graph), or a grid of height × width points
  // whose coordinates are xs (width) and ys (height). Writes RGB (batch, 3, points) fp32 to `out` on the
  // device; the noise of point p is that of global point index options.first_point + p.
  void render(const float* w, std::int64_t batch, const float* xy, std::int64_t points, float* out,
              const CipsRenderOptions& options);
  void render_grid(const float* w, std::int64_t batch, const std::vector<float>& xs, const std::vector<float>& ys,
                   float* out, const CipsRenderOptions& options);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pixsyn::backend::cuda
