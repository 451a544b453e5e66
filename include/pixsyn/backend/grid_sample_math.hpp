#pragma once
// The per-point arithmetic of bilinear grid_sample (PyTorch semantics), shared by the CPU kernel
// (backend/eigen/grid_sample.hpp) and the CUDA kernel (src/cuda/grid_sample.cu).
#include <cmath>
#include <cstdint>

#include "pixsyn/core/host_device.hpp"

namespace pixsyn::backend {

// Source index of a normalised coordinate in [-1, 1] along an axis of `size` pixels.
template <class T>
PIXSYN_HOST_DEVICE T grid_source_index(T coord, std::int64_t size, bool align_corners, bool border) {
  const T n = static_cast<T>(size);
  T i = align_corners ? (coord + 1) / 2 * (n - 1) : ((coord + 1) * n - 1) / 2;
  if (border) i = i < T(0) ? T(0) : (i > n - 1 ? n - 1 : i);  // NaN stays NaN, as std::clamp leaves it
  return i;
}

// The taps of one output point inside an H × W plane: offsets into the plane and their weights.
// Taps outside the image are dropped (with border padding only a weight-0 tap can be outside).
template <class T>
struct BilinearTaps {
  std::int64_t offset[4];
  T weight[4];
  int count = 0;
};

// The taps at the normalised coordinates (x, y).
template <class T>
PIXSYN_HOST_DEVICE BilinearTaps<T> bilinear_taps(T x, T y, std::int64_t H, std::int64_t W, bool align_corners,
                                                 bool border) {
  const T ix = grid_source_index(x, W, align_corners, border);
  const T iy = grid_source_index(y, H, align_corners, border);
  const T fx = std::floor(ix), fy = std::floor(iy);
  const T wx[2] = {fx + 1 - ix, ix - fx}, wy[2] = {fy + 1 - iy, iy - fy};
  // Far-away (or NaN) coordinates touch no pixel; testing them first keeps the integer casts defined.
  const bool near = fx >= -1 && fx < static_cast<T>(W) && fy >= -1 && fy < static_cast<T>(H);
  const auto x0 = near ? static_cast<std::int64_t>(fx) : 0, y0 = near ? static_cast<std::int64_t>(fy) : 0;
  BilinearTaps<T> taps;
  for (int dy = 0; dy < 2 && near; ++dy)
    for (int dx = 0; dx < 2; ++dx) {
      const std::int64_t xi = x0 + dx, yi = y0 + dy;
      if (xi < 0 || xi >= W || yi < 0 || yi >= H) continue;
      taps.offset[taps.count] = yi * W + xi;
      taps.weight[taps.count++] = wx[dx] * wy[dy];
    }
  return taps;
}

}  // namespace pixsyn::backend
