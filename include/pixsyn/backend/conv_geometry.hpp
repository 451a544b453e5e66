#pragma once
// The geometry of a 2-D convolution, shared by the CPU kernels (backend/eigen/conv.hpp) and the CUDA
// kernels (src/cuda/conv.cu). One geometry describes the three convolution kernels: conv2d (x side ->
// y side), its input gradient, which is conv_transpose2d (y side -> x side), and its weight gradient.
#include <cstdint>

#include "pixsyn/core/host_device.hpp"

namespace pixsyn::backend {

struct ConvGeometry {
  std::int64_t batch = 0;
  std::int64_t in_channels = 0, height = 0, width = 0;           // the x side: x (B, I, H, W)
  std::int64_t out_channels = 0, out_height = 0, out_width = 0;  // the y side: y (B, O, Ho, Wo)
  std::int64_t kernel_h = 0, kernel_w = 0, stride = 1, padding = 0;
  bool per_sample = false;  // weights (B, O, I, kh, kw), else one (O, I, kh, kw) for every sample

  // The depth of a GEMM: one weight row (O rows of I · kh · kw).
  PIXSYN_HOST_DEVICE std::int64_t depth() const { return in_channels * kernel_h * kernel_w; }
  PIXSYN_HOST_DEVICE std::int64_t in_plane() const { return height * width; }
  PIXSYN_HOST_DEVICE std::int64_t out_plane() const { return out_height * out_width; }
  // Elements between two samples' weights (0: shared).
  PIXSYN_HOST_DEVICE std::int64_t weight_stride() const { return per_sample ? out_channels * depth() : 0; }
};

// The x-side index read by output index `out` at kernel tap `tap` (outside [0, extent): zero padding).
PIXSYN_HOST_DEVICE inline std::int64_t conv_source(std::int64_t out, std::int64_t tap, std::int64_t stride,
                                                   std::int64_t padding) {
  return out * stride + tap - padding;
}

}  // namespace pixsyn::backend
