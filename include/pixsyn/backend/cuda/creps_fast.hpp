#pragma once
// The fused CREPS inference engine on the GPU (declarations; kernels in src/cuda/creps_fast.cu and
// src/cuda/creps_pixels.cu). It works on plain weight arrays (render/cuda_creps.hpp extracts them from a
// creps::Generator), so the .cu files never instantiate model types. Per chunk of samples:
//  - the bi-line path: every (point, slot) pair of the row points and of the column points goes through
//    the wide modulated layers (styles and demodulation folded into per-sample weights; per layer one
//    strided-batched GEMM (fp32: 3×TF32) and an epilogue pass, or one fused Hopper kernel in fp16), and the
//    ToRes outputs accumulate into per-level row and column embeddings U_r, V_r;
//  - the per-pixel path: one kernel keeps a tile of pixels in registers through every level's bi-line
//    product 0.5·Σ_d U V, the decoders, decoder_img and the two refinement blocks, on the tensor cores
//    (fp16 in the 16-bit mode, 3×TF32 split products in fp32 mode), and writes RGB.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "pixsyn/backend/cuda/fast_render.hpp"
#include "pixsyn/backend/cuda/split_gemm.hpp"

namespace pixsyn::backend::cuda {

// An equalized linear layer, host fp32, its runtime gains applied: weight (out, in), bias (out).
struct LinearLayer {
  std::int64_t in = 0, out = 0;
  std::vector<float> weight, bias;
};

// A CREPS generator's synthesis weights. The widths follow the official code: K bi-line channels, decoders
// K → 2K → 4K → 2K → K, refinement blocks K → 4K → 4K (+ ToRes → 3) and 4K → 2K → 2K (+ ToRes → 3).
struct CrepsWeights {
  std::int64_t style_dim = 0;  // w_dim
  std::int64_t channels = 0;   // K (16 or 32 on the fast path)
  std::int64_t rank = 0;       // D, the bi-line thickness
  float clamp = 256;           // of every modulated layer's output
  // b4.input with C channels: freqs (C/2 · D), weight (C, 2D), its affine (C · 2D, style_dim) and bias.
  std::int64_t input_channels = 0;
  std::vector<float> freqs, input_weight, input_modulation, input_modulation_bias;
  // The bi-line path: b4.fc1, then fc0 and fc1 of every level b8 .. bR (demodulated; weight without gain).
  std::vector<ModulatedLayer> fcs;
  // One ToRes per level (K outputs; weight · 1/√in, not demodulated).
  std::vector<ModulatedLayer> tores;
  // decoder_{16} .. decoder_{R} (layer-wise fusion of every level), or none (the last level's bi-line only).
  std::vector<std::array<LinearLayer, 4>> decoders;
  std::array<LinearLayer, 4> decoder_last;
  LinearLayer decoder_img;                       // (3, K)
  std::array<ModulatedLayer, 3> block0, block1;  // fc0, fc1, tores (→ 3, weight · 1/√in)
};

struct CrepsRenderOptions {
  Precision precision = Precision::fp32;
  std::size_t workspace_bytes = std::size_t(768) << 20;  // folded weights, embeddings and one bi-line tile
  std::int64_t max_pixels = 0;  // bi-line (sample, point, slot) rows per tile; 0 chooses the most the budget allows
  bool graph = true;            // capture the call as a CUDA graph and replay it while the call repeats
  bool fused_layers = true;     // 16-bit on an H100-class GPU (sm_90): the wide layers as one kernel each
  // fp32 on a GPU with TF32 tensor cores: the bi-line path's GEMMs as 3×TF32 split GEMMs (split_gemm.hpp)
  // summed in this many accumulations; 0, or elsewhere: cuBLAS SGEMM.
  int tf32_split = default_split_accumulations;
};

class CrepsEngine {
 public:
  explicit CrepsEngine(const CrepsWeights& weights);  // uploads the weights once
  ~CrepsEngine();
  CrepsEngine(const CrepsEngine&) = delete;
  CrepsEngine& operator=(const CrepsEngine&) = delete;

  // The number of ws the synthesis reads (2 · levels + 3): the input ws[0], b4.fc1 ws[1], level l's fc0,
  // fc1 and ToRes ws[2l + 1 .. 2l + 3], both refinement blocks the last.
  std::int64_t num_ws() const;

  // Whether a render with these options runs the wide layers as fused Hopper kernels (16-bit with
  // fused_layers on a compute capability 9.0 GPU and an sm_90a build, every width a multiple of 8).
  bool fused_layers(const CrepsRenderOptions& options) const;

  // ws on the device, fp32: (batch, num_ws(), style_dim) when per_layer, else one w (batch, style_dim) for
  // every layer. rows (height) and cols (width) are the coordinates, on the HOST. Writes RGB to `out` on the
  // device: a grid (batch, 3, height, width), pixel (i, j) at (rows[i], cols[j]); or, when `diagonal`,
  // (batch, 3, points) for the point set (rows[k], cols[k]) (rows and cols of equal length).
  void render(const float* ws, std::int64_t batch, bool per_layer, const std::vector<float>& rows,
              const std::vector<float>& cols, bool diagonal, float* out, const CrepsRenderOptions& options);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pixsyn::backend::cuda
