#pragma once
// AxisGrid: a separable grid given by its row coordinates and its column coordinates, the way CREPS
// takes coordinates (each axis runs through its own half of the network). The official CREPS grid
// of an H x W image is linspace(0, 1, H) down the rows and linspace(0, 1, W) across the columns.
// Separable maps (shift, zoom, scale) act on the two vectors; anything else (rotation, warps) needs
// the grid's points: to_points() gives them, and per-point rendering evaluates them.
#include <cmath>
#include <cstdint>

#include "pixsyn/coords/grid.hpp"
#include "pixsyn/coords/point_set.hpp"
#include "pixsyn/coords/transform.hpp"
#include "pixsyn/core/error.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::coords {

template <class T = float>
struct AxisGrid {
  Tensor<T> rows;  // (H): the y coordinate of every image row
  Tensor<T> cols;  // (W): the x coordinate of every image column

  std::int64_t height() const { return rows.numel(); }
  std::int64_t width() const { return cols.numel(); }
};

namespace detail {

template <class T>
void check_axis(const char* op, const char* name, const Tensor<T>& t) {
  pixsyn::detail::check(t.defined() && t.rank() == 1 && t.numel() > 0, op, ": ", name,
                        " must be a non-empty 1-D coordinate vector, got shape ", t.defined() ? t.shape() : Shape{});
  const T* v = t.data();
  for (std::int64_t i = 0; i < t.numel(); ++i)
    pixsyn::detail::check(std::isfinite(v[i]), op, ": ", name, "[", i, "] = ", v[i], " is not finite");
}

}  // namespace detail

// H row and W column points, each evenly spaced over [lo, hi] with both ends included (torch's
// linspace): axis_grid(H, W) is the official CREPS grid; more points over the same span render the
// same image at a higher scale (the official --scale).
template <class T = float>
AxisGrid<T> axis_grid(std::int64_t height, std::int64_t width, T lo = T(0), T hi = T(1)) {
  constexpr const char* op = "coords::axis_grid";
  coords::detail::check_extent(op, "height", height);
  coords::detail::check_extent(op, "width", width);
  pixsyn::detail::check(std::isfinite(lo) && std::isfinite(hi), op, ": the span [", lo, ", ", hi, "] must be finite");
  return {linspace<T>(lo, hi, height), linspace<T>(lo, hi, width)};
}

// Rows [row0, row0 + h) and columns [col0, col0 + w) of a grid: a tile renders as that crop.
template <class T>
AxisGrid<T> crop(const AxisGrid<T>& grid, std::int64_t row0, std::int64_t col0, std::int64_t h, std::int64_t w) {
  constexpr const char* op = "coords::crop";
  coords::detail::check_extent(op, "h", h);
  coords::detail::check_extent(op, "w", w);
  pixsyn::detail::check(row0 >= 0 && col0 >= 0 && row0 + h <= grid.height() && col0 + w <= grid.width(), op, ": rows [",
                        row0, ", ", row0 + h, ") x columns [", col0, ", ", col0 + w, ") fall outside the ",
                        grid.height(), " x ", grid.width(), " grid");
  return {grid.rows.narrow(row0, h).clone(), grid.cols.narrow(col0, w).clone()};
}

// A separable affine map applied to each axis: x' = a x + tx on the columns, y' = d y + ty on the
// rows (shift, scale and zoom about any centre, on each axis on its own). A map that mixes the axes
// (a rotation, a shear) is refused: render its points instead.
template <class T>
AxisGrid<T> transform(const Affine<T>& map, const AxisGrid<T>& grid) {
  constexpr const char* op = "coords::transform (AxisGrid)";
  detail::check_axis(op, "rows", grid.rows);
  detail::check_axis(op, "cols", grid.cols);
  pixsyn::detail::check(map.b == 0 && map.c == 0, op, ": the map mixes x and y (b = ", map.b, ", c = ", map.c,
                        "), so it has no per-axis form; transform the grid's points (to_points) instead");
  auto apply = [](const Tensor<T>& t, T scale, T offset) {
    auto out = Tensor<T>::empty(t.shape());
    for (std::int64_t i = 0; i < t.numel(); ++i) out.data()[i] = scale * t.data()[i] + offset;
    return out;
  };
  return {apply(grid.rows, map.d, map.ty), apply(grid.cols, map.a, map.tx)};
}

// Every (x = cols[j], y = rows[i]) pair, row-major, as a grid PointSet (height H, width W).
template <class T>
PointSet<T> to_points(const AxisGrid<T>& grid) {
  detail::check_axis("coords::to_points", "rows", grid.rows);
  detail::check_axis("coords::to_points", "cols", grid.cols);
  const std::int64_t h = grid.height(), w = grid.width();
  PointSet<T> points{Tensor<T>::empty({h * w, 2}), h, w};
  T* p = points.xy.data();
  for (std::int64_t i = 0; i < h; ++i)
    for (std::int64_t j = 0; j < w; ++j, p += 2) {
      p[0] = grid.cols.data()[j];
      p[1] = grid.rows.data()[i];
    }
  return points;
}

}  // namespace pixsyn::coords
