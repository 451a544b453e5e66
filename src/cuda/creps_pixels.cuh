#pragma once
// The per-pixel half of the CREPS renderer (see include/pixsyn/backend/cuda/creps_fast.hpp): one kernel
// takes a tile of pixels from the per-level row and column embeddings to RGB. Included from .cu files only.
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace pixsyn::backend::cuda::creps {

struct PixelArgs {
  std::int64_t samples = 0;
  std::int64_t height = 0, width = 0;  // grid: pixel (i, j); diagonal: `width` points, pixel k = (k, k)
  bool diagonal = false;
  int levels = 0;
  int quads = 0;        // D / 4, D the bi-line rank rounded up to a multiple of 4
  int first_level = 0;  // levels fused: E = F_first, then E = decoder(E) + F_l for l = first + 1 .. levels - 1
  // U (samples, levels, height, D / 4, K, 4) and V (samples, levels, width, D / 4, K, 4): 0.5^½ · the
  // accumulated row and column halves of the bi-line, fp32, zero in the slots beyond the rank.
  const float *u = nullptr, *v = nullptr;
  // levels - first_level decoders (the last is decoder_last), each four (out, in) matrices K → 2K → 4K →
  // 2K → K in the element type (__half or float), back to back; their biases (2K, 4K, 2K, K) fp32. In fp16
  // the matrices of layers 2, 3 and 4 carry the √2 gain of the layer before (the kernel leaves it out).
  const void* decoders = nullptr;
  const float* decoder_biases = nullptr;
  const float *img_weight = nullptr, *img_bias = nullptr;  // decoder_img (3, K) and (3)
  // Per sample, block_stride elements apart: the folded fc0 (4K, K), fc1 (4K, 4K) of block0 and fc0
  // (2K, 4K), fc1 (2K, 2K) of block1 in the element type; rgb_stride apart: the folded ToRes (3, 4K) and
  // (3, 2K), fp32.
  const void* blocks = nullptr;
  std::int64_t block_stride = 0;
  const float* rgb = nullptr;
  std::int64_t rgb_stride = 0;
  const float* block_biases = nullptr;  // fc0 (4K), fc1 (4K), fc0 (2K), fc1 (2K), ToRes (3), ToRes (3)
  float clamp = 256;                    // of the refinement blocks' layers
  float* out = nullptr;                 // (samples, 3, pixels)
};

// Elements of one sample's folded block weights (unpadded) for K channels: 4K·K + 4K·4K + 2K·4K + 2K·2K.
__host__ __device__ constexpr std::int64_t block_elements(std::int64_t k) { return 32 * k * k; }
// Elements of one decoder's four matrices: 2K·K + 4K·2K + 2K·4K + K·2K.
__host__ __device__ constexpr std::int64_t decoder_elements(std::int64_t k) { return 20 * k * k; }

// Whether the kernel exists for K channels (16, 32).
bool pixels_supported(std::int64_t channels);

// Renders a.samples × pixels; half: the elements are __half (fp16 tensor cores), else float (3×TF32).
void render_pixels(const PixelArgs& a, std::int64_t channels, bool half, cudaStream_t stream);

}  // namespace pixsyn::backend::cuda::creps
