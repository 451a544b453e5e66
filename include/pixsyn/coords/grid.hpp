#pragma once
// Regular coordinate grids: the official CIPS grid, rectangles (tiles) of it, and denser grids.
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>

#include "pixsyn/coords/point_set.hpp"
#include "pixsyn/core/error.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::coords {

// n evenly spaced values from start to end, both included, with exactly the numbers of
// torch.linspace on the CPU (its AVX2 kernel, which produced the CIPS fixtures): step =
// (end - start) / (n - 1) in T; blocks of 2 x (32 / sizeof(T)) values are written as vectors
// base + k * step (product and sum rounded separately) whose base is the scalar formula at the
// block start; the remaining tail uses the scalar formula, fused: start + step * i for i < n / 2,
// end - step * (n - 1 - i) after. std::fma pins the fusing whatever the compiler flags. Endpoints
// are exact; the middle may differ from the mirrored value by an ulp, as in torch.
template <class T = float>
Tensor<T> linspace(T start, T end, std::int64_t n) {
  static_assert(std::is_floating_point_v<T>, "coords::linspace needs a floating-point type");
  coords::detail::check_extent("coords::linspace", "n", n);
  auto out = Tensor<T>::empty({n});
  T* v = out.data();
  if (n == 1) {
    v[0] = start;
    return out;
  }
  const T step = (end - start) / static_cast<T>(n - 1);
  const std::int64_t halfway = n / 2;
  const auto scalar = [&](std::int64_t idx) {
    return idx < halfway ? std::fma(step, static_cast<T>(idx), start)
                         : std::fma(-step, static_cast<T>(n - 1 - idx), end);
  };
  constexpr std::int64_t lanes = 32 / sizeof(T);
  std::int64_t i = 0;
  // The vector loop takes two vectors per iteration and leaves a shorter tail to the scalar loop.
  for (; i + 2 * lanes <= n; i += 2 * lanes)
    for (std::int64_t block = i; block < i + 2 * lanes; block += lanes) {
      const T base = scalar(block);
      for (std::int64_t k = 0; k < lanes; ++k) v[block + k] = base + std::fma(static_cast<T>(k), step, T(0));
    }
  for (; i < n; ++i) v[i] = scalar(i);
  return out;
}

namespace detail {

// "[start, start + length)", also when the end would overflow.
inline std::string range_text(std::int64_t start, std::int64_t length) {
  std::int64_t end = 0;
  if (__builtin_add_overflow(start, length, &end))
    return pixsyn::detail::concat("[", start, ", ", start, " + ", length, ")");
  return pixsyn::detail::concat("[", start, ", ", end, ")");
}

// Rows [row0, row0 + h) and columns [col0, col0 + w) of grid(full_h, full_w).
template <class T>
PointSet<T> grid_block(const char* op, std::int64_t full_h, std::int64_t full_w, std::int64_t row0, std::int64_t col0,
                       std::int64_t h, std::int64_t w) {
  const std::int64_t count = point_count(op, h, w);
  const auto xs = linspace<T>(T(-1), T(1), full_w), ys = linspace<T>(T(-1), T(1), full_h);
  PointSet<T> points{Tensor<T>::empty({count, 2}), h, w};
  T* p = points.xy.data();
  for (std::int64_t i = 0; i < h; ++i)
    for (std::int64_t j = 0; j < w; ++j, p += 2) {
      p[0] = xs.data()[col0 + j];
      p[1] = ys.data()[row0 + i];
    }
  return points;
}

}  // namespace detail

// The official CIPS grid of an H x W image: x = linspace(-1, 1, W) along columns, y =
// linspace(-1, 1, H) along rows (pixel centres at +-1, (-1, -1) top-left), row-major points.
// Unlike the official helper it accepts non-square sizes.
template <class T = float>
PointSet<T> grid(std::int64_t height, std::int64_t width) {
  coords::detail::check_extent("coords::grid", "height", height);
  coords::detail::check_extent("coords::grid", "width", width);
  return detail::grid_block<T>("coords::grid", height, width, 0, 0, height, width);
}

// The h x w tile at (row0, col0) of the virtual grid(full_height, full_width): the same numbers
// as the corresponding points of the full grid, so tiles render exactly like the whole.
template <class T = float>
PointSet<T> grid_rect(std::int64_t full_height, std::int64_t full_width, std::int64_t row0, std::int64_t col0,
                      std::int64_t h, std::int64_t w) {
  constexpr const char* op = "coords::grid_rect";
  coords::detail::check_extent(op, "full_height", full_height);
  coords::detail::check_extent(op, "full_width", full_width);
  coords::detail::check_extent(op, "h", h);
  coords::detail::check_extent(op, "w", w);
  if (!(row0 >= 0 && col0 >= 0 && h <= full_height - row0 && w <= full_width - col0))
    pixsyn::detail::fail(op, ": rows ", detail::range_text(row0, h), " x columns ", detail::range_text(col0, w),
                         " fall outside the ", full_height, " x ", full_width, " grid");
  return detail::grid_block<T>(op, full_height, full_width, row0, col0, h, w);
}

// A grid `factor` times denser over the same [-1, 1] square: grid(H * factor, W * factor). This is
// how CIPS renders above its training size (e.g. FFHQ-1024 from a size-256 model).
template <class T = float>
PointSet<T> dense_grid(std::int64_t height, std::int64_t width, std::int64_t factor) {
  constexpr const char* op = "coords::dense_grid";
  coords::detail::check_extent(op, "height", height);
  coords::detail::check_extent(op, "width", width);
  coords::detail::check_extent(op, "factor", factor);
  return grid<T>(pixsyn::detail::multiply_sizes(height, factor, op, ": the height"),
                 pixsyn::detail::multiply_sizes(width, factor, op, ": the width"));
}

}  // namespace pixsyn::coords
