#pragma once
// Bilinear grid sampling on the CPU, with PyTorch's grid_sample conventions (see ops/grid_sample.hpp).
#include <cstdint>
#include <vector>

#include "pixsyn/backend/grid_sample_math.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::backend::eigen {

// input (N, C, H, W), grid (N, Ho, Wo, 2) -> out (N, C, Ho, Wo); shapes are checked by the caller.
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
      const auto taps = bilinear_taps(g[(row * Wo + x) * 2], g[(row * Wo + x) * 2 + 1], H, W, align_corners, border);
      T* dst = o + n * C * P + p;
      for (std::int64_t c = 0; c < C; ++c) {
        const T* s = src + c * plane;
        T v = 0;
        for (int k = 0; k < taps.count; ++k) v += s[taps.offset[k]] * taps.weight[k];
        dst[c * P] = v;
      }
    }
  }
}

// The adjoint in the input: g (N, C, Ho, Wo) -> out (N, C, H, W), zero-filled by the caller, each point's
// gradient added to its taps in point order (parallel over channels, so the sums are the same every run).
template <class T>
void grid_sample_bilinear_adjoint(const Tensor<T, Cpu>& g, const Tensor<T, Cpu>& grid, Tensor<T, Cpu>& out,
                                  bool align_corners, bool border) {
  const std::int64_t N = out.dim(0), C = out.dim(1), H = out.dim(2), W = out.dim(3);
  const std::int64_t P = grid.dim(1) * grid.dim(2), plane = H * W;
  std::vector<BilinearTaps<T>> taps(static_cast<std::size_t>(P));
  for (std::int64_t n = 0; n < N; ++n) {
    const T* xy = grid.data() + n * P * 2;
    for (std::int64_t p = 0; p < P; ++p) taps[p] = bilinear_taps(xy[2 * p], xy[2 * p + 1], H, W, align_corners, border);
#pragma omp parallel for if (C * P > (1 << 14))
    for (std::int64_t c = 0; c < C; ++c) {
      const T* src = g.data() + (n * C + c) * P;
      T* dst = out.data() + (n * C + c) * plane;
      for (std::int64_t p = 0; p < P; ++p)
        for (int k = 0; k < taps[p].count; ++k) dst[taps[p].offset[k]] += src[p] * taps[p].weight[k];
    }
  }
}

}  // namespace pixsyn::backend::eigen
