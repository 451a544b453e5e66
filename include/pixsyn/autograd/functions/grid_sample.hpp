#pragma once
// grid_sample on Var. With a grid that takes no gradient (coordinates: CIPS's embedding lookup) it is linear in
// the input: one node on the Tensor kernel whose backward is its adjoint (grid_sample_adjoint), and the
// adjoint's backward grid_sample again, so every order of derivative is there, on every device. With a grid
// that takes a gradient (the CPU only) it is composed of differentiable ops, for derivatives of every order
// in both: unnormalise (scalar mul/add), clamp for border padding, floor (a constant) for the corner pixels,
// bilinear weights from the fractional parts, one gather of the four corner pixels from the channels-last
// input, and a weighted sum. Values equal the Tensor kernel's.
#include <algorithm>
#include <cstdint>
#include <utility>

#include "pixsyn/autograd/functions/arithmetic.hpp"
#include "pixsyn/autograd/functions/layout.hpp"
#include "pixsyn/autograd/functions/permute.hpp"
#include "pixsyn/autograd/functions/reduce.hpp"
#include "pixsyn/ops/grid_sample.hpp"

namespace pixsyn {

namespace detail {

// Rows of the (N*H*W, C) pixel table for the four corner taps, as a gather index over (4, N, P), and
// the (4, N, P, 1) mask that zeroes taps outside the image (their rows are clamped inside so the gather
// stays valid). x0, y0: (1, N, P, 1) integer-valued corner coordinates. Corners are ordered
// (x0, y0), (x1, y0), (x0, y1), (x1, y1).
template <class T>
std::pair<Tensor<std::int64_t, Cpu>, Tensor<T, Cpu>> grid_sample_corners(const Tensor<T, Cpu>& x0,
                                                                         const Tensor<T, Cpu>& y0, const Shape& input) {
  const std::int64_t N = input[0], H = input[2], W = input[3], P = x0.numel() / N;
  auto index = Tensor<std::int64_t, Cpu>::empty({4 * N * P});
  auto mask = Tensor<T, Cpu>::empty({4, N, P, 1});
  for (int k = 0; k < 4; ++k)
    for (std::int64_t n = 0; n < N; ++n)
      for (std::int64_t p = 0; p < P; ++p) {
        // Coordinates far outside the image are pulled to just outside it before the integer cast.
        const T xs = std::clamp<T>(x0.data()[n * P + p] + (k & 1), -1, static_cast<T>(W));
        const T ys = std::clamp<T>(y0.data()[n * P + p] + (k >> 1), -1, static_cast<T>(H));
        const auto xi = static_cast<std::int64_t>(xs), yi = static_cast<std::int64_t>(ys);
        const std::int64_t at = (k * N + n) * P + p;
        mask.data()[at] = xi >= 0 && xi < W && yi >= 0 && yi < H ? T(1) : T(0);
        index.data()[at] =
            (n * H + std::clamp<std::int64_t>(yi, 0, H - 1)) * W + std::clamp<std::int64_t>(xi, 0, W - 1);
      }
  return {std::move(index), std::move(mask)};
}

template <class T, class D>
Var<T, D> grid_sample_fixed(const Var<T, D>& input, const Tensor<T, D>& grid, GridSampleOptions options);

// The adjoint of grid_sample_fixed in its input: g (N, C, Ho, Wo) -> (N, C, height, width).
template <class T, class D>
Var<T, D> grid_sample_adjoint(const Var<T, D>& g, const Tensor<T, D>& grid, std::int64_t height, std::int64_t width,
                              GridSampleOptions options) {
  return autograd::detail::record<T, D>("grid_sample_adjoint",
                                        grid_sample_adjoint(g.value(), grid, height, width, options), {g},
                                        [grid, options](const Var<T, D>& gg, const auto&, const auto&) {
                                          return std::vector<Var<T, D>>{grid_sample_fixed(gg, grid, options)};
                                        });
}

template <class T, class D>
Var<T, D> grid_sample_fixed(const Var<T, D>& input, const Tensor<T, D>& grid, GridSampleOptions options) {
  return autograd::detail::record<T, D>(
      "grid_sample", grid_sample(input.value(), grid, options), {input},
      [grid, options](const Var<T, D>& g, const auto& in, const auto&) {
        return std::vector<Var<T, D>>{grid_sample_adjoint(g, grid, in[0].dim(2), in[0].dim(3), options)};
      });
}

// Both derivatives through differentiable ops (the CPU only: the corners are found on the host).
template <class T>
Var<T, Cpu> grid_sample_through_ops(const Var<T, Cpu>& input, const Var<T, Cpu>& grid, GridSampleOptions options) {
  using V = Var<T, Cpu>;
  const std::int64_t N = input.dim(0), C = input.dim(1), H = input.dim(2), W = input.dim(3);
  const std::int64_t Ho = grid.dim(1), Wo = grid.dim(2), P = Ho * Wo;
  // Source indices in the (1, N, P, 1) layout of one corner's weights, with the kernel's exact arithmetic.
  auto source_index = [&](int k, std::int64_t size) {
    const V g = reshape(slice(grid, 3, k, k + 1), Shape{1, N, P, 1});
    const T n = static_cast<T>(size);
    V i = options.align_corners ? (g + T(1)) * T(0.5) * (n - 1) : ((g + T(1)) * n - T(1)) * T(0.5);
    return options.padding == Padding::border ? clamp(i, T(0), n - 1) : i;
  };
  const V ix = source_index(0, W), iy = source_index(1, H);
  const V x0 = floor(ix), y0 = floor(iy);
  const V wx[2] = {(x0 + T(1)) - ix, ix - x0}, wy[2] = {(y0 + T(1)) - iy, iy - y0};
  auto [index, mask] = grid_sample_corners(x0.value(), y0.value(), input.shape());
  const V weights =
      concat(std::vector<V>{wx[0] * wy[0], wx[1] * wy[0], wx[0] * wy[1], wx[1] * wy[1]}, 0) * V(std::move(mask));
  // Gathering whole pixels (rows of C channels) keeps the index at 4 entries per sample, whatever C is.
  const V pixels = reshape(permute(input, {0, 2, 3, 1}), Shape{N * H * W, C});
  const V taps = reshape(index_select(pixels, 0, index), Shape{4, N, P, C});
  return reshape(permute(sum(taps * weights, {0}), {0, 2, 1}), Shape{N, C, Ho, Wo});
}

}  // namespace detail

template <class T, class D>
Var<T, D> grid_sample(const Var<T, D>& input, const Var<T, D>& grid, GridSampleOptions options = {}) {
  detail::check_grid_sample(input.shape(), grid.shape());
  if (!grid.requires_grad()) return detail::grid_sample_fixed(input, grid.value(), options);
  if constexpr (!std::is_same_v<D, Cpu>)
    detail::fail("grid_sample: on ", D::name, " the grid takes no gradient (it is differentiable in the input only)");
  else
    return detail::grid_sample_through_ops(input, grid, options);
}

}  // namespace pixsyn
