#pragma once
// ALIS's fixed coordinate features (spec alis.md §1.5): a logarithmic basis of wavefront directions,
// and the anchor-relative coordinates of a frame at left border delta, embedded as
// [sin(B x), cos(B x)]. Coordinates are relative to the anchors (x = -D at the left anchor, 0 at the
// centre, +D at the right; backend/alis_geometry.hpp), so every strip of a panorama sees the same
// values; all x-frequencies are multiples of pi/2, periodic in 4, which divides the strip length 2D
// (D even): strips meet seamlessly.
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include "pixsyn/backend/alis_geometry.hpp"
#include "pixsyn/core/error.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::alis {

// Rows (frequency on x, frequency on y), as the official generate_logarithmic_basis forms them in
// float32: the "horizontal" wavefronts (on y), the "vertical" ones (on x), the main diagonal and the
// anti-diagonal, each with n = ceil(log2 resolution) octaves 2^k * 2pi / period (period 4, or
// 4 sqrt 2 on the diagonals), k = 0 dropped when remove_lowest_freq; the diagonals dropped
// (anti-diagonal first) while n * directions exceeds max_features.
template <class T>
Tensor<T> logarithmic_basis(int resolution, int max_features, bool remove_lowest_freq) {
  pixsyn::detail::check(resolution >= 2, "alis::logarithmic_basis: resolution ", resolution, " must be at least 2");
  int n = 0;
  while ((1 << n) < resolution) ++n;
  const float s = static_cast<float>(1 / std::numbers::sqrt2);
  const float directions[4][3] = {{0.0f, 1.0f, 4.0f},
                                  {1.0f, 0.0f, 4.0f},
                                  {-s, s, static_cast<float>(4 * std::numbers::sqrt2)},
                                  {s, s, static_cast<float>(4 * std::numbers::sqrt2)}};
  int count = 4;
  while (n * count > max_features && count > 2) --count;
  const int first = remove_lowest_freq ? 1 : 0;
  const std::int64_t rows = static_cast<std::int64_t>(count) * (n - first);
  pixsyn::detail::check(rows <= max_features, "alis::logarithmic_basis: ", rows, " basis rows at resolution ",
                        resolution, " exceed the limit of ", max_features);
  auto basis = Tensor<T>::empty({rows, 2});
  T* out = basis.data();
  for (int d = 0; d < count; ++d) {
    const float coef = static_cast<float>(2 * std::numbers::pi / static_cast<double>(directions[d][2]));
    for (int k = first; k < n; ++k)
      for (int axis = 0; axis < 2; ++axis) {
        const float octave = directions[d][axis] * static_cast<float>(1 << k);
        *out++ = static_cast<T>(octave * coef);
      }
  }
  return basis;
}

// The coordinate channels [sin(raw), cos(raw)], raw_k = basis_k0 x + basis_k1 y, of frames at left
// borders delta (B) and side size, in patch layout: (B * patches, 2m, size, size / patches), patch p
// of sample b at batch index b * patches + p (see models/alis/anchors.hpp). x and y are the official
// generate_shifted_coords (backend::AlisFrameGeometry); the GPU makes the same channels in one launch
// (backend/cuda/alis.hpp).
template <class T>
Tensor<T> coordinate_embedding(const Tensor<T>& basis, const std::vector<std::int64_t>& delta, std::int64_t size,
                               int patches, int anchor_distance) {
  const backend::AlisFrameGeometry geometry{size, patches, anchor_distance};
  const std::int64_t m = basis.dim(0), batch = static_cast<std::int64_t>(delta.size()), width = geometry.patch_width();
  auto out = Tensor<T>::empty({batch * patches, 2 * m, size, width});
  std::vector<T> x(static_cast<std::size_t>(size)), y(static_cast<std::size_t>(size));
  for (std::int64_t i = 0; i < size; ++i) y[i] = geometry.y<T>(i);
  const T* f = basis.data();
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t j = 0; j < size; ++j) x[j] = geometry.x<T>(delta[b], j);
    for (std::int64_t p = 0; p < patches; ++p) {
      T* sample = out.data() + (b * patches + p) * 2 * m * size * width;
      for (std::int64_t k = 0; k < m; ++k)
        for (std::int64_t i = 0; i < size; ++i)
          for (std::int64_t j = 0; j < width; ++j) {
            const T raw = backend::coordinate_phase(f[2 * k], f[2 * k + 1], x[p * width + j], y[i]);
            sample[(k * size + i) * width + j] = std::sin(raw);
            sample[((m + k) * size + i) * width + j] = std::cos(raw);
          }
    }
  }
  return out;
}

}  // namespace pixsyn::alis
