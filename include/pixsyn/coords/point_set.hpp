#pragma once
// PointSet: the coordinates a generator is evaluated at, as one row per point, channels last.
#include <cstdint>

#include "pixsyn/core/error.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::coords {

// `xy` is (P, D): D = 2 columns (x, y) in the generator's normalised space (x = column axis,
// y = row axis, [-1, 1] spans the training image), or D = 3 for the cylinder_xyz embedding.
// When the points are a grid, height * width == P and point p = i * width + j is pixel (row i,
// column j), so a renderer can reshape per-point results to an image; otherwise both are 0.
template <class T = float>
struct PointSet {
  Tensor<T> xy;
  std::int64_t height = 0;
  std::int64_t width = 0;

  std::int64_t size() const { return xy.dim(0); }
  std::int64_t dims() const { return xy.dim(1); }
  bool is_grid() const { return height > 0 && width > 0; }
};

// A grid's points as planes (D, height, width): the (C, H, W) layout of the official code's
// coordinate tensor (channel 0 = x, channel 1 = y).
template <class T>
Tensor<T> to_planes(const PointSet<T>& points) {
  pixsyn::detail::check(points.is_grid(), "coords::to_planes: the point set is not a grid (height ", points.height,
                        ", width ", points.width, ")");
  const std::int64_t n = points.size(), d = points.dims();
  auto planes = Tensor<T>::empty({d, points.height, points.width});
  const T* src = points.xy.data();
  T* dst = planes.data();
  for (std::int64_t p = 0; p < n; ++p)
    for (std::int64_t c = 0; c < d; ++c) dst[c * n + p] = src[p * d + c];
  return planes;
}

namespace detail {

inline void check_extent(const char* op, const char* name, std::int64_t value) {
  pixsyn::detail::check(value > 0, op, ": ", name, " must be positive, got ", value);
}

// The number of points of a height x width grid; a count that would overflow is an error.
inline std::int64_t point_count(const char* op, std::int64_t height, std::int64_t width) {
  return pixsyn::detail::multiply_sizes(height, width, op, ": a grid of");
}

}  // namespace detail
}  // namespace pixsyn::coords
