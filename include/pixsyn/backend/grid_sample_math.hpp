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

// Where a point falls: its source indices (ix, iy) and the cell (x0, y0) = (floor(ix), floor(iy)) whose four
// corners are its taps. Far-away (or NaN) coordinates touch no pixel: near is false and x0 = y0 = 0.
template <class T>
struct BilinearCell {
  T ix, iy;
  std::int64_t x0 = 0, y0 = 0;
  bool near = false;
  // The weight of corner (x0 + dx, y0 + dy), dx and dy in {0, 1}.
  PIXSYN_HOST_DEVICE T weight(int dx, int dy) const {
    const T fx = static_cast<T>(x0), fy = static_cast<T>(y0);
    return (dx ? ix - fx : fx + 1 - ix) * (dy ? iy - fy : fy + 1 - iy);
  }
};

template <class T>
PIXSYN_HOST_DEVICE BilinearCell<T> bilinear_cell(T x, T y, std::int64_t H, std::int64_t W, bool align_corners,
                                                 bool border) {
  BilinearCell<T> cell;
  cell.ix = grid_source_index(x, W, align_corners, border);
  cell.iy = grid_source_index(y, H, align_corners, border);
  const T fx = std::floor(cell.ix), fy = std::floor(cell.iy);
  // Testing before the integer casts keeps them defined.
  cell.near = fx >= -1 && fx < static_cast<T>(W) && fy >= -1 && fy < static_cast<T>(H);
  if (cell.near) {
    cell.x0 = static_cast<std::int64_t>(fx);
    cell.y0 = static_cast<std::int64_t>(fy);
  }
  return cell;
}

// The taps at the normalised coordinates (x, y).
template <class T>
PIXSYN_HOST_DEVICE BilinearTaps<T> bilinear_taps(T x, T y, std::int64_t H, std::int64_t W, bool align_corners,
                                                 bool border) {
  const auto cell = bilinear_cell(x, y, H, W, align_corners, border);
  BilinearTaps<T> taps;
  for (int dy = 0; dy < 2 && cell.near; ++dy)
    for (int dx = 0; dx < 2; ++dx) {
      const std::int64_t xi = cell.x0 + dx, yi = cell.y0 + dy;
      if (xi < 0 || xi >= W || yi < 0 || yi >= H) continue;
      taps.offset[taps.count] = yi * W + xi;
      taps.weight[taps.count++] = cell.weight(dx, dy);
    }
  return taps;
}

}  // namespace pixsyn::backend
