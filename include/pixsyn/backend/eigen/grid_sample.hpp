#pragma once
// Bilinear grid sampling on the CPU, with PyTorch's grid_sample conventions (see ops/grid_sample.hpp).
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "pixsyn/core/tensor.hpp"

namespace pixsyn::backend::eigen {

// Source index of a normalised coordinate in [-1, 1] along an axis of `size` pixels.
template <class T>
T grid_source_index(T coord, std::int64_t size, bool align_corners, bool border) {
  const T n = static_cast<T>(size);
  T i = align_corners ? (coord + 1) / 2 * (n - 1) : ((coord + 1) * n - 1) / 2;
  if (border) i = std::clamp(i, T(0), n - 1);
  return i;
}

// input (N, C, H, W), grid (N, Ho, Wo, 2) -> out (N, C, Ho, Wo); shapes are checked by the caller.
// Taps outside the image contribute zero (with border padding only a weight-0 tap can be outside).
template <class T>
void grid_sample_bilinear(const Tensor<T, Cpu>& input, const Tensor<T, Cpu>& grid, Tensor<T, Cpu>& out,
                          bool align_corners, bool border) {
  const std::int64_t N = input.dim(0), C = input.dim(1), H = input.dim(2), W = input.dim(3);
  const std::int64_t Ho = grid.dim(1), Wo = grid.dim(2), plane = H * W, P = Ho * Wo;
  const T* in = input.data();
  const T* g = grid.data();
  T* o = out.data();
#pragma omp parallel for if (N * C * P > (1 << 14))
  for (std::int64_t row = 0; row < N * Ho; ++row) {
    const std::int64_t n = row / Ho;
    const T* src = in + n * C * plane;
    for (std::int64_t x = 0; x < Wo; ++x) {
      const std::int64_t p = (row % Ho) * Wo + x;
      const T ix = grid_source_index(g[(row * Wo + x) * 2], W, align_corners, border);
      const T iy = grid_source_index(g[(row * Wo + x) * 2 + 1], H, align_corners, border);
      const T fx = std::floor(ix), fy = std::floor(iy);
      const T wx[2] = {fx + 1 - ix, ix - fx}, wy[2] = {fy + 1 - iy, iy - fy};
      // Far-away (or NaN) coordinates touch no pixel; testing them first keeps the integer casts defined.
      const bool near = fx >= -1 && fx < static_cast<T>(W) && fy >= -1 && fy < static_cast<T>(H);
      const auto x0 = near ? static_cast<std::int64_t>(fx) : 0, y0 = near ? static_cast<std::int64_t>(fy) : 0;
      std::int64_t offset[4];
      T weight[4];
      int taps = 0;
      for (int dy = 0; dy < 2 && near; ++dy)
        for (int dx = 0; dx < 2; ++dx) {
          const std::int64_t xi = x0 + dx, yi = y0 + dy;
          if (xi < 0 || xi >= W || yi < 0 || yi >= H) continue;
          offset[taps] = yi * W + xi;
          weight[taps++] = wx[dx] * wy[dy];
        }
      T* dst = o + n * C * P + p;
      for (std::int64_t c = 0; c < C; ++c) {
        const T* s = src + c * plane;
        T v = 0;
        for (int k = 0; k < taps; ++k) v += s[offset[k]] * weight[k];
        dst[c * P] = v;
      }
    }
  }
}

}  // namespace pixsyn::backend::eigen
