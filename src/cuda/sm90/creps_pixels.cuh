#pragma once
// The per-pixel CREPS kernel on wgmma (sm_90a), for 16-bit renders on a compute capability 9.0 GPU; built
// only when CMAKE_CUDA_ARCHITECTURES names 90. Included from .cu files only.
#include <cuda_runtime.h>

#include <cstdint>

#include "../creps_pixels.cuh"

namespace pixsyn::backend::cuda::creps::sm90 {

// As creps::render_pixels with fp16 elements; the caller checks fused_layers_supported().
void render_pixels(const PixelArgs& a, std::int64_t channels, cudaStream_t stream);

}  // namespace pixsyn::backend::cuda::creps::sm90
