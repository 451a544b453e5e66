#pragma once
// Foveated sampling (CIPS paper, Fig. 8): render only a fraction of the pixels, dense around a
// gaze point and sparse in the periphery, then fill the rest in from the nearest rendered pixel.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "pixsyn/coords/grid.hpp"
#include "pixsyn/coords/point_set.hpp"
#include "pixsyn/core/error.hpp"
#include "pixsyn/core/philox.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::coords {

// Where the eye looks. A pixel's sampling weight is exp(-d^2 / (2 sigma^2)) + floor, with d the
// distance from (x, y) in normalised coordinates; the floor (relative to the Gaussian's peak of 1)
// keeps the periphery from being empty.
struct Fovea {
  double x = 0;
  double y = 0;
  double sigma = 0.3;
  double floor = 0.05;
};

template <class T = float>
struct FoveatedSample {
  PointSet<T> points;            // (P, 2) centres of the chosen pixels of grid(H, W); not a grid
  Tensor<std::int64_t> indices;  // (P,) their row-major pixel indices i * W + j, ascending
};

// Chooses P = max(1, round(fraction * H * W)) distinct pixels of an H x W grid, each draw without
// replacement with probability proportional to its weight (Efraimidis-Spirakis: keep the P
// smallest keys -log(u) / weight). The uniform u of pixel p is number p of the Philox stream, so
// the sample depends only on (seed, offset); gen.offset advances past the H * W numbers used.
template <class T = float>
FoveatedSample<T> foveated(std::int64_t height, std::int64_t width, double fraction, const Fovea& fovea, Philox& gen) {
  constexpr const char* op = "coords::foveated";
  coords::detail::check_extent(op, "height", height);
  coords::detail::check_extent(op, "width", width);
  pixsyn::detail::check(fraction > 0 && fraction <= 1, op, ": fraction must be in (0, 1], got ", fraction);
  pixsyn::detail::check(fovea.sigma > 0, op, ": sigma must be positive, got ", fovea.sigma);
  pixsyn::detail::check(fovea.floor >= 0, op, ": floor must be non-negative, got ", fovea.floor);
  pixsyn::detail::check(std::isfinite(fovea.x) && std::isfinite(fovea.y), op, ": gaze point (", fovea.x, ", ", fovea.y,
                        ") is not finite");

  const std::int64_t n = coords::detail::point_count(op, height, width);
  const auto count = std::clamp<std::int64_t>(std::llround(fraction * static_cast<double>(n)), 1, n);
  const auto xs = linspace<T>(T(-1), T(1), width), ys = linspace<T>(T(-1), T(1), height);
  const double inv_two_var = 1.0 / (2.0 * fovea.sigma * fovea.sigma);
  // Tensors rather than vectors for the per-pixel work: their allocation refuses more than the memory.
  const auto keys = Tensor<double>::empty({n});
  double* key = keys.data();
  for (std::int64_t p = 0; p < n; ++p) {
    const double dx = static_cast<double>(xs.data()[p % width]) - fovea.x;
    const double dy = static_cast<double>(ys.data()[p / width]) - fovea.y;
    const double weight = std::exp(-(dx * dx + dy * dy) * inv_two_var) + fovea.floor;
    const double u = pixsyn::detail::philox_uniform(gen.seed, gen.offset, static_cast<std::uint64_t>(p));
    key[p] = -std::log(u) / weight;  // +inf for a zero weight: chosen last
  }
  gen.offset += static_cast<std::uint64_t>((n + 3) / 4);

  const auto order_buffer = Tensor<std::int64_t>::empty({n});
  std::int64_t* order = order_buffer.data();
  std::iota(order, order + n, std::int64_t{0});
  // Ties (only between zero-weight pixels) fall to the lower index, so the result is deterministic.
  const auto before = [&](std::int64_t a, std::int64_t b) {
    const double ka = key[a], kb = key[b];
    return ka < kb || (ka == kb && a < b);
  };
  std::nth_element(order, order + (count - 1), order + n, before);
  std::sort(order, order + count);

  FoveatedSample<T> sample{PointSet<T>{Tensor<T>::empty({count, 2})}, Tensor<std::int64_t>::empty({count})};
  for (std::int64_t k = 0; k < count; ++k) {
    const std::int64_t p = order[k];
    sample.indices.data()[k] = p;
    sample.points.xy.data()[2 * k] = xs.data()[p % width];
    sample.points.xy.data()[2 * k + 1] = ys.data()[p / width];
  }
  return sample;
}

template <class T = float>
FoveatedSample<T> foveated(std::int64_t height, std::int64_t width, double fraction, const Fovea& fovea, Philox&& gen) {
  return foveated<T>(height, width, fraction, fovea, gen);
}

// The paper's fill-in: values (C, P) rendered at the pixels `indices` (P,) of an H x W image become
// a (C, H, W) image in which every other pixel copies its nearest rendered pixel (exact Euclidean
// distance in pixel units; ties go to the earlier candidate of the scan). Linear time: the nearest
// rendered row in each column, then a lower envelope of parabolas along each row (Felzenszwalb and
// Huttenlocher's distance transform, keeping the argmin).
template <class T>
Tensor<T> fill_missing(const Tensor<T>& values, const Tensor<std::int64_t>& indices, std::int64_t height,
                       std::int64_t width) {
  constexpr const char* op = "coords::fill_missing";
  coords::detail::check_extent(op, "height", height);
  coords::detail::check_extent(op, "width", width);
  pixsyn::detail::check(values.rank() == 2 && indices.rank() == 1 && values.dim(1) == indices.dim(0), op, ": values ",
                        values.shape(), " must be (C, P) for indices ", indices.shape(), " (P,)");
  const std::int64_t n = coords::detail::point_count(op, height, width), count = indices.dim(0),
                     channels = values.dim(0);
  pixsyn::detail::check(count > 0, op, ": no sampled pixels to fill from");

  // pixel -> its column in values (a tensor, whose allocation refuses more than the memory)
  const auto owner_buffer = Tensor<std::int64_t>::full({n}, -1);
  std::int64_t* owner = owner_buffer.data();
  for (std::int64_t k = 0; k < count; ++k) {
    const std::int64_t p = indices.data()[k];
    pixsyn::detail::check(p >= 0 && p < n, op, ": index ", p, " is outside the ", height, " x ", width, " image");
    pixsyn::detail::check(owner[static_cast<std::size_t>(p)] < 0, op, ": pixel index ", p, " appears twice");
    owner[static_cast<std::size_t>(p)] = k;
  }

  // near_row[i * W + j]: the sampled row in column j nearest to row i, or -1 if the column has none.
  const auto near_row_buffer = Tensor<std::int64_t>::full({n}, -1);
  std::int64_t* near_row = near_row_buffer.data();
  const auto at = [width](std::int64_t i, std::int64_t j) { return static_cast<std::size_t>(i * width + j); };
  for (std::int64_t j = 0; j < width; ++j) {
    for (std::int64_t i = 0, last = -1; i < height; ++i) {
      if (owner[at(i, j)] >= 0) last = i;
      near_row[at(i, j)] = last;
    }
    for (std::int64_t i = height - 1, next = -1; i >= 0; --i) {
      if (owner[at(i, j)] >= 0) next = i;
      const std::int64_t above = near_row[at(i, j)];
      if (next >= 0 && (above < 0 || next - i < i - above)) near_row[at(i, j)] = next;
    }
  }

  auto out = Tensor<T>::empty({channels, height, width});
  std::vector<std::int64_t> site(static_cast<std::size_t>(width));  // envelope's columns
  std::vector<double> boundary(static_cast<std::size_t>(width));    // where each one starts
  const double inf = std::numeric_limits<double>::infinity();
  for (std::int64_t i = 0; i < height; ++i) {
    // f(j) = squared vertical distance to the nearest sample in column j; parabola (q - j)^2 + f(j).
    const auto f = [&](std::int64_t j) {
      const double d = static_cast<double>(i - near_row[at(i, j)]);
      return d * d;
    };
    std::int64_t top = -1;
    for (std::int64_t j = 0; j < width; ++j) {
      if (near_row[at(i, j)] < 0) continue;
      const auto crossing = [&](std::int64_t a) {
        return ((f(j) + static_cast<double>(j * j)) - (f(a) + static_cast<double>(a * a))) /
               static_cast<double>(2 * (j - a));
      };
      double s = top < 0 ? -inf : crossing(site[static_cast<std::size_t>(top)]);
      while (top >= 0 && s <= boundary[static_cast<std::size_t>(top)]) {
        --top;
        s = top < 0 ? -inf : crossing(site[static_cast<std::size_t>(top)]);
      }
      ++top;
      site[static_cast<std::size_t>(top)] = j;
      boundary[static_cast<std::size_t>(top)] = s;
    }
    // Every row has an envelope: there is at least one sample, so some column has a nearest row.
    for (std::int64_t q = 0, k = 0; q < width; ++q) {
      while (k < top && boundary[static_cast<std::size_t>(k + 1)] < static_cast<double>(q)) ++k;
      const std::int64_t j = site[static_cast<std::size_t>(k)];
      const std::int64_t source = owner[at(near_row[at(i, j)], j)];
      for (std::int64_t c = 0; c < channels; ++c) out.data()[c * n + i * width + q] = values.data()[c * count + source];
    }
  }
  return out;
}

}  // namespace pixsyn::coords
