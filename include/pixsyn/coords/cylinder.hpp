#pragma once
// Cylindrical grids for 360-degree panoramas. Column j of a W-wide panorama sits at the angle
// theta = 2 pi j / W, so column W - 1 and column 0 are neighbours across the seam exactly like any
// two adjacent columns. The official CIPS code has no panorama mode; the paper (Sec. 4) uses a
// cylindrical coordinate embedding. Two encodings are offered:
//  - cylinder: planar (x, y) points with x = x_period * j / W, for a 2-D generator that is periodic
//    in x with period x_period (e.g. Fourier features whose x-frequencies are multiples of
//    2 pi / x_period); the seam is then invisible to the generator.
//  - cylinder_xyz: 3-D points (cos theta, sin theta, y) on the unit cylinder, for a generator that
//    takes 3-D input; any such generator is seamless, with no constraint on its weights.
// In both, y = linspace(-1, 1, H) along rows as in grid(), and points are row-major (a grid).
#include <cmath>
#include <cstdint>
#include <numbers>

#include "pixsyn/coords/grid.hpp"
#include "pixsyn/coords/point_set.hpp"
#include "pixsyn/core/error.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::coords {

template <class T = float>
PointSet<T> cylinder(std::int64_t height, std::int64_t width, T x_period) {
  constexpr const char* op = "coords::cylinder";
  coords::detail::check_extent(op, "height", height);
  coords::detail::check_extent(op, "width", width);
  pixsyn::detail::check(std::isfinite(x_period) && x_period > 0, op, ": x_period must be positive, got ", x_period);
  const std::int64_t count = coords::detail::point_count(op, height, width);
  const auto ys = linspace<T>(T(-1), T(1), height);
  PointSet<T> points{Tensor<T>::empty({count, 2}), height, width};
  T* p = points.xy.data();
  for (std::int64_t i = 0; i < height; ++i)
    for (std::int64_t j = 0; j < width; ++j, p += 2) {
      p[0] = x_period * static_cast<T>(j) / static_cast<T>(width);
      p[1] = ys.data()[i];
    }
  return points;
}

template <class T = float>
PointSet<T> cylinder_xyz(std::int64_t height, std::int64_t width) {
  constexpr const char* op = "coords::cylinder_xyz";
  coords::detail::check_extent(op, "height", height);
  coords::detail::check_extent(op, "width", width);
  const std::int64_t count = coords::detail::point_count(op, height, width);
  const auto ys = linspace<T>(T(-1), T(1), height);
  PointSet<T> points{Tensor<T>::empty({count, 3}), height, width};
  T* p = points.xy.data();
  for (std::int64_t i = 0; i < height; ++i)
    for (std::int64_t j = 0; j < width; ++j, p += 3) {
      // The angle in double, so float panoramas get correctly rounded cos and sin.
      const double theta = 2 * std::numbers::pi * static_cast<double>(j) / static_cast<double>(width);
      p[0] = static_cast<T>(std::cos(theta));
      p[1] = static_cast<T>(std::sin(theta));
      p[2] = ys.data()[i];
    }
  return points;
}

}  // namespace pixsyn::coords
