#pragma once
// Bilinear grid_sample with exactly PyTorch's semantics (torch.nn.functional.grid_sample, mode='bilinear'):
// input (N, C, H, W), grid (N, Ho, Wo, 2) with grid[..., 0] = x across the width and grid[..., 1] = y
// down the height, both normalised to [-1, 1]; output (N, C, Ho, Wo).
// A coordinate g on an axis of n pixels maps to the source index
//   align_corners = false: ((g + 1) * n - 1) / 2   (-1 and 1 are the outer edges of the edge pixels)
//   align_corners = true:  (g + 1) / 2 * (n - 1)   (-1 and 1 are the centres of the edge pixels)
// Border padding clamps the index to [0, n - 1] first; with zeros padding, taps outside the image
// contribute zero. grid_sample_adjoint is its adjoint in the input (its backward for a fixed grid).
#include "pixsyn/backend/cuda/grid_sample.hpp"
#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/backend/eigen/grid_sample.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn {

enum class Padding { zeros, border };

struct GridSampleOptions {
  bool align_corners = false;
  Padding padding = Padding::border;
};

namespace detail {
inline void check_grid_sample(const Shape& input, const Shape& grid) {
  check(input.rank() == 4 && input[2] > 0 && input[3] > 0,
        "grid_sample: input must be (N, C, H, W) with H, W > 0, got ", input);
  check(grid.rank() == 4 && grid[3] == 2, "grid_sample: grid must be (N, Ho, Wo, 2), got ", grid);
  check(grid[0] == input[0], "grid_sample: grid ", grid, " and input ", input, " differ in batch size");
}

// The adjoint's gradient g (N, C, Ho, Wo) against its grid (N, Ho, Wo, 2) and the input size (H, W) it goes to.
inline Shape grid_sample_adjoint_shape(const Shape& g, const Shape& grid, std::int64_t height, std::int64_t width) {
  check(g.rank() == 4, "grid_sample_adjoint: the gradient must be (N, C, Ho, Wo), got ", g);
  const Shape input{g[0], g[1], height, width};
  check_grid_sample(input, grid);
  check(grid[1] == g[2] && grid[2] == g[3], "grid_sample_adjoint: the gradient ", g, " does not match the grid ", grid);
  return input;
}
}  // namespace detail

template <class T>
Tensor<T, Cpu> grid_sample(const Tensor<T, Cpu>& input, const Tensor<T, Cpu>& grid, GridSampleOptions options = {}) {
  detail::check_grid_sample(input.shape(), grid.shape());
  auto out = Tensor<T, Cpu>::empty({input.dim(0), input.dim(1), grid.dim(1), grid.dim(2)});
  backend::eigen::grid_sample_bilinear(input, grid, out, options.align_corners, options.padding == Padding::border);
  return out;
}

template <class T>
Tensor<T, Cuda> grid_sample(const Tensor<T, Cuda>& input, const Tensor<T, Cuda>& grid, GridSampleOptions options = {}) {
  detail::check_grid_sample(input.shape(), grid.shape());
  auto out = Tensor<T, Cuda>::empty({input.dim(0), input.dim(1), grid.dim(1), grid.dim(2)});
  backend::cuda::grid_sample_bilinear(input.dim(0), input.dim(1), input.dim(2), input.dim(3), grid.dim(1), grid.dim(2),
                                      input.data(), grid.data(), out.data(), options.align_corners,
                                      options.padding == Padding::border);
  return out;
}

// The adjoint of grid_sample in its input for a fixed grid: g (N, C, Ho, Wo) -> (N, C, height, width), every
// point's value added to its taps with their bilinear weights. Sums in the same order on every run.
template <class T>
Tensor<T, Cpu> grid_sample_adjoint(const Tensor<T, Cpu>& g, const Tensor<T, Cpu>& grid, std::int64_t height,
                                   std::int64_t width, GridSampleOptions options = {}) {
  Tensor<T, Cpu> out(detail::grid_sample_adjoint_shape(g.shape(), grid.shape(), height, width));
  backend::eigen::grid_sample_bilinear_adjoint(g, grid, out, options.align_corners, options.padding == Padding::border);
  return out;
}

template <class T>
Tensor<T, Cuda> grid_sample_adjoint(const Tensor<T, Cuda>& g, const Tensor<T, Cuda>& grid, std::int64_t height,
                                    std::int64_t width, GridSampleOptions options = {}) {
  auto out = Tensor<T, Cuda>::empty(detail::grid_sample_adjoint_shape(g.shape(), grid.shape(), height, width));
  backend::cuda::grid_sample_bilinear_adjoint(g.dim(0), g.dim(1), height, width, grid.dim(1), grid.dim(2), g.data(),
                                              grid.data(), out.data(), options.align_corners,
                                              options.padding == Padding::border);
  return out;
}

}  // namespace pixsyn
