#pragma once
// Constant-memory rendering for CREPS. Each axis runs through the bi-line path once, in chunks of a
// bounded number of points (a 16384-point axis never holds 16384 x D x 1024 activations), giving
// per-level row and column embeddings of O(H + W) size; the per-pixel part then runs in tiles of
// a bounded number of (row, column) pairs. Every pixel depends only on its own row and column
// coordinates and the GEMMs compute each row independently of its neighbours (docs/design.md), so a
// tiled render equals the one-shot render bit for bit, whatever the tile and chunk sizes.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "pixsyn/coords/axis_grid.hpp"
#include "pixsyn/coords/point_set.hpp"
#include "pixsyn/models/creps/generator.hpp"
#include "pixsyn/render/tiled.hpp"

namespace pixsyn::render {

template <class T = float>
struct CrepsRenderOptions {
  // At most this many (sample, pixel) pairs per tile of the per-pixel part: bounds its activations to
  // about max_pixels * 4K * sizeof(T) (the widest decoder layer) plus the weights.
  std::int64_t max_pixels = 1 << 16;
  // At most this many (sample, axis point) pairs per chunk of the bi-line path: bounds its activations
  // to about max_axis_points * thickness * 1024 * sizeof(T) per tensor (the official b4..b64 width).
  std::int64_t max_axis_points = 1 << 9;
  creps::Precision refinement = creps::Precision::fp32;
  // Called after each tile with (pixels done, pixels in all); for progress output on long renders.
  std::function<void(std::int64_t, std::int64_t)> progress;
};

namespace detail {

inline void check_render_options(std::int64_t max_pixels, std::int64_t max_axis_points) {
  pixsyn::detail::check(max_pixels > 0, "render (CREPS): max_pixels must be positive, got ", max_pixels);
  pixsyn::detail::check(max_axis_points > 0, "render (CREPS): max_axis_points must be positive, got ", max_axis_points);
}

// g.embed_axis over t in chunks, joined: per level (B, N, thickness, K).
template <creps::Config C, class T>
std::vector<Tensor<T>> embed_axis_chunked(const creps::Generator<C, T>& g, const Tensor<T>& w, const Tensor<T>& t,
                                          creps::Axis axis, std::int64_t chunk) {
  const std::int64_t batch = w.dim(0), n = t.numel(), row = std::int64_t(C.thickness) * C.biline_channels;
  std::vector<Tensor<T>> levels;
  for (int l = 0; l < C.levels(); ++l) levels.push_back(Tensor<T>::empty({batch, n, C.thickness, C.biline_channels}));
  for (std::int64_t start = 0; start < n; start += chunk) {
    const std::int64_t count = std::min(chunk, n - start);
    const auto part = g.embed_axis(w, t.narrow(start, count).clone(), axis);
    for (int l = 0; l < C.levels(); ++l)
      for (std::int64_t b = 0; b < batch; ++b)
        std::copy(part[l].data() + b * count * row, part[l].data() + (b + 1) * count * row,
                  levels[l].data() + (b * n + start) * row);
  }
  return levels;
}

}  // namespace detail

// Renders w (B, w_dim) or (B, num_ws, w_dim) on a separable grid -> images (B, 3, H, W).
template <creps::Config C, class T>
Tensor<T> render_image(const creps::Generator<C, T>& g, const Tensor<T>& w, const coords::AxisGrid<T>& grid,
                       const CrepsRenderOptions<T>& options = {}) {
  detail::check_render_options(options.max_pixels, options.max_axis_points);
  creps::detail::check_coordinates("render_image (CREPS)", "rows", grid.rows);
  creps::detail::check_coordinates("render_image (CREPS)", "cols", grid.cols);
  const std::int64_t batch = w.dim(0), h = grid.height(), wd = grid.width(), total = h * wd;
  const creps::SynthesisOptions synthesis{.refinement = options.refinement};
  std::vector<Tensor<T>> rows, cols;
  if constexpr (C.features == creps::Features::biline) {
    const std::int64_t chunk = tile_points(options.max_axis_points, batch);
    rows = detail::embed_axis_chunked(g, w, grid.rows, creps::Axis::rows, chunk);
    cols = detail::embed_axis_chunked(g, w, grid.cols, creps::Axis::cols, chunk);
  }
  auto out = Tensor<T>::empty({batch, 3, h, wd});
  const std::int64_t tile = tile_points(options.max_pixels, batch);
  for (std::int64_t start = 0; start < total; start += tile) {
    const std::int64_t count = std::min(tile, total - start);
    auto ri = Tensor<std::int64_t>::empty({count}), ci = Tensor<std::int64_t>::empty({count});
    for (std::int64_t k = 0; k < count; ++k) ri.data()[k] = (start + k) / wd, ci.data()[k] = (start + k) % wd;
    Tensor<T> rgb;
    if constexpr (C.features == creps::Features::biline)
      rgb = g.synthesize_pairs(w, rows, cols, ri, ci, synthesis);
    else
      rgb = g.synthesize_points(w, index_select(grid.rows, 0, ri), index_select(grid.cols, 0, ci), synthesis);
    for (std::int64_t b = 0; b < batch; ++b)
      for (std::int64_t k = 0; k < count; ++k)
        for (int c = 0; c < 3; ++c) out.data()[(b * 3 + c) * total + start + k] = rgb.data()[(b * count + k) * 3 + c];
    if (options.progress) options.progress(start + count, total);
  }
  return out;
}

// Renders w at any points (P, 2) (x = column coordinate, y = row coordinate, the official [0, 1]
// span) -> (B, P, 3): each point's row and column embeddings and only the diagonal pair, O(P), in
// chunks within both budgets. A rotated or warped grid is such a point set.
template <creps::Config C, class T>
Tensor<T> render_points(const creps::Generator<C, T>& g, const Tensor<T>& w, const coords::PointSet<T>& points,
                        const CrepsRenderOptions<T>& options = {}) {
  detail::check_render_options(options.max_pixels, options.max_axis_points);
  pixsyn::detail::check(points.xy.rank() == 2 && points.xy.dim(1) == 2 && points.xy.dim(0) > 0,
                        "render_points (CREPS): points have shape ", points.xy.shape(), "; expected (P, 2), P > 0");
  const std::int64_t batch = w.dim(0), total = points.size();
  const std::int64_t chunk = tile_points(std::min(options.max_pixels, options.max_axis_points), batch);
  auto out = Tensor<T>::empty({batch, total, 3});
  for (std::int64_t start = 0; start < total; start += chunk) {
    const std::int64_t count = std::min(chunk, total - start);
    auto ys = Tensor<T>::empty({count}), xs = Tensor<T>::empty({count});
    for (std::int64_t k = 0; k < count; ++k)
      xs.data()[k] = points.xy.data()[2 * (start + k)], ys.data()[k] = points.xy.data()[2 * (start + k) + 1];
    const Tensor<T> rgb = g.synthesize_points(w, ys, xs, creps::SynthesisOptions{.refinement = options.refinement});
    for (std::int64_t b = 0; b < batch; ++b)
      std::copy(rgb.data() + b * count * 3, rgb.data() + (b + 1) * count * 3, out.data() + (b * total + start) * 3);
    if (options.progress) options.progress(start + count, total);
  }
  return out;
}

}  // namespace pixsyn::render
