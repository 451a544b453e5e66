#pragma once
// The geometry of upfirdn2d (zero-insertion upsampling, pad or crop, FIR filter, downsampling), shared by
// the CPU kernel (backend/eigen/upfirdn2d.hpp) and the CUDA kernel (src/cuda/upfirdn2d.cu).
#include <cstdint>

#include "pixsyn/core/host_device.hpp"

namespace pixsyn::backend {

// One axis: the input of `in` samples gets up - 1 zeros after each sample, pad0 zeros before and pad1
// after (negative values crop), is correlated with the filter's `taps` and keeps every down-th output:
// out = (in · up + pad0 + pad1 - taps) / down + 1.
struct FirAxis {
  std::int64_t in = 0, out = 0, taps = 0, up = 1, down = 1, pad0 = 0, pad1 = 0;
};

struct FirGeometry {
  std::int64_t planes = 0;   // batch · channels: every plane is filtered alike
  FirAxis y, x;              // rows and columns
  bool flip_filter = false;  // false: true convolution (the filter is flipped), as the official op
  double gain = 1;           // multiplies the filter
};

// The input index that output index m reads through filter tap k (which, unless flipped, is applied as tap
// taps - 1 - k of the filter), or -1 where that tap reads an inserted zero or the padding.
PIXSYN_HOST_DEVICE inline std::int64_t fir_source(const FirAxis& a, std::int64_t m, std::int64_t k) {
  const std::int64_t t = m * a.down + k - a.pad0;  // position in the upsampled signal
  if (t < 0 || t >= a.in * a.up || t % a.up != 0) return -1;
  return t / a.up;
}

}  // namespace pixsyn::backend
