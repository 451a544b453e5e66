#pragma once
// Constant-memory rendering of any point set: points are rendered in tiles of bounded size, and
// because CIPS pixels are independent given w (and noise is a function of the global pixel index),
// a tiled render equals the one-shot render.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "pixsyn/coords/point_set.hpp"
#include "pixsyn/nn/noise.hpp"

namespace pixsyn::render {

template <class T = float>
struct RenderOptions {
  // At most this many (sample, point) pairs per tile: bounds the activation memory of a tile to about
  // max_pixels * (widest layer input + output) * sizeof(T) plus the generator's weights.
  std::int64_t max_pixels = 1 << 16;
  nn::NoiseMode noise = nn::NoiseMode::off;
  std::uint64_t noise_seed = 0;
  std::vector<Tensor<T>> noise_maps;  // NoiseMode::given: one (B, P) map per StyledConv
  // Called after each tile with (points done, points in all); for progress output on long renders.
  std::function<void(std::int64_t, std::int64_t)> progress;
};

// The points of one tile for a batch of `batch` samples: at most max_pixels (sample, point) pairs, at
// least one point. (For progress reports: a render of P points takes ceil(P / tile_points) tiles.)
inline std::int64_t tile_points(std::int64_t max_pixels, std::int64_t batch) {
  return std::max<std::int64_t>(1, max_pixels / std::max<std::int64_t>(batch, 1));
}

// A generator that renders a point set with one call, g.synthesize(w, xy, noise) (CIPS); CREPS has its
// own overloads in render/tiled_creps.hpp.
template <class G, class T>
concept PointSynthesizer = requires(const G& g, const Tensor<T>& t, const nn::NoiseSource<T>& noise) {
  g.synthesize(t, t, noise);
};

// Renders w (B, style_dim) at every point (P, 2) -> (B, P, 3), in tiles.
template <class T, PointSynthesizer<T> G>
Tensor<T> render_points(const G& g, const Tensor<T>& w, const coords::PointSet<T>& points,
                        const RenderOptions<T>& options = {}) {
  pixsyn::detail::check(options.max_pixels > 0, "render: max_pixels must be positive, got ", options.max_pixels);
  pixsyn::detail::check(points.xy.rank() == 2 && points.xy.dim(1) == 2, "render: points have shape ", points.xy.shape(),
                        "; expected (P, 2)");
  const std::int64_t batch = w.dim(0), total = points.size();
  const std::int64_t tile = tile_points(options.max_pixels, batch);
  auto out = Tensor<T>::empty({batch, total, 3});
  nn::NoiseSource<T> noise{.mode = options.noise, .seed = options.noise_seed, .maps = options.noise_maps, .points = {}};
  // The loop steps by count, not tile: start + tile could pass the largest int64 when tile is huge.
  for (std::int64_t start = 0, count = 0; start < total; start += count) {
    count = std::min(tile, total - start);
    auto ids = Tensor<std::int64_t>::empty({count});
    for (std::int64_t i = 0; i < count; ++i) ids.data()[i] = start + i;
    noise.points = ids;
    const Tensor<T> rgb = g.synthesize(w, points.xy.narrow(start, count), noise);
    for (std::int64_t b = 0; b < batch; ++b)
      std::copy(rgb.data() + b * count * 3, rgb.data() + (b + 1) * count * 3, out.data() + (b * total + start) * 3);
    if (options.progress) options.progress(start + count, total);
  }
  return out;
}

// (B, H*W, 3) channels-last points of a grid -> (B, 3, H, W) images.
template <class T>
Tensor<T> to_images(const Tensor<T>& rgb, std::int64_t height, std::int64_t width) {
  pixsyn::detail::check(rgb.rank() == 3 && height >= 0 && width >= 0 &&
                            pixsyn::detail::checked_mul(height, width) == rgb.dim(1) && rgb.dim(2) == 3,
                        "to_images: shape ", rgb.shape(), " is not (B, ", height, " * ", width, ", 3)");
  const std::int64_t batch = rgb.dim(0), n = rgb.dim(1);
  auto out = Tensor<T>::empty({batch, 3, height, width});
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t p = 0; p < n; ++p)
      for (int c = 0; c < 3; ++c) out.data()[(b * 3 + c) * n + p] = rgb.data()[(b * n + p) * 3 + c];
  return out;
}

// Renders a grid point set to images (B, 3, H, W).
template <class T, PointSynthesizer<T> G>
Tensor<T> render_image(const G& g, const Tensor<T>& w, const coords::PointSet<T>& grid,
                       const RenderOptions<T>& options = {}) {
  pixsyn::detail::check(grid.is_grid(), "render_image: the point set is not a grid; use render_points");
  return to_images(render_points(g, w, grid, options), grid.height, grid.width);
}

}  // namespace pixsyn::render
