#pragma once
// Bilinear grid_sample with exactly PyTorch's semantics (torch.nn.functional.grid_sample, mode='bilinear'):
// input (N, C, H, W), grid (N, Ho, Wo, 2) with grid[..., 0] = x across the width and grid[..., 1] = y
// down the height, both normalised to [-1, 1]; output (N, C, Ho, Wo).
// A coordinate g on an axis of n pixels maps to the source index
//   align_corners = false: ((g + 1) * n - 1) / 2   (-1 and 1 are the outer edges of the edge pixels)
//   align_corners = true:  (g + 1) / 2 * (n - 1)   (-1 and 1 are the centres of the edge pixels)
// Border padding clamps the index to [0, n - 1] first; with zeros padding, taps outside the image
// contribute zero.
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

}  // namespace pixsyn
