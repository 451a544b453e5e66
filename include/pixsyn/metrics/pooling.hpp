#pragma once
// 2-D max and average pooling and a half-pixel bilinear resize on Tensor (CPU and CUDA), NCHW, for the
// InceptionV3 feature network (metrics/inception.hpp). Inference only: there is no Var overload and no
// gradient (an evaluation network is never trained here).
//
//   pool2d(x, {.kind, .kernel, .stride, .same})
//       x (B, C, H, W) -> (B, C, Ho, Wo). Valid: Ho = (H - kernel) / stride + 1, windows inside x. Same
//       (stride 1 and an odd kernel only): Ho = H, windows centred, and an average counts only the taps
//       inside x (Keras' AveragePooling2D(padding="same"), not PyTorch's count_include_pad).
//   resize_bilinear_half_pixel(x, height, width)
//       bilinear with half-pixel centres: output pixel o reads source position (o + 0.5) · n / n_out - 0.5,
//       clamped to the edge pixels (tf.image.resizeBilinear(halfPixelCenters = true), PyTorch's
//       interpolate(align_corners = False) without antialiasing). Shrinking aliases: no low-pass filter.
//
// Both are made of existing device ops (slices, gathers, sums, relu, grid_sample): the same code runs on
// every device, with no kernel of its own. Windows are separable, so pooling is one pass per axis;
// max(a, b) is b + relu(a - b), which is exact up to one rounding.
#include <cstdint>

#include "pixsyn/core/tensor.hpp"
#include "pixsyn/ops/activation.hpp"
#include "pixsyn/ops/arithmetic.hpp"
#include "pixsyn/ops/grid_sample.hpp"
#include "pixsyn/ops/layout.hpp"
#include "pixsyn/ops/transfer.hpp"

namespace pixsyn::metrics {

enum class PoolKind { max, average };

struct Pool2dOptions {
  PoolKind kind = PoolKind::max;
  std::int64_t kernel = 3;
  std::int64_t stride = 1;
  bool same = false;  // stride 1, odd kernel: output as large as x, padding outside every average
};

namespace detail {

// One pass of a pool along `axis` (2 or 3) of x, already padded for "same" pools.
template <class T, class D>
Tensor<T, D> pool_axis(const Tensor<T, D>& x, int axis, const Pool2dOptions& o) {
  const std::int64_t out = (x.dim(axis) - o.kernel) / o.stride + 1;
  auto index = Tensor<std::int64_t>::empty({out});
  Tensor<T, D> result;
  for (std::int64_t tap = 0; tap < o.kernel; ++tap) {
    Tensor<T, D> part;
    if (o.stride == 1) {
      part = slice(x, axis, tap, tap + out);
    } else {
      for (std::int64_t i = 0; i < out; ++i) index.data()[i] = i * o.stride + tap;
      part = index_select(x, axis, index);
    }
    if (!result.defined())
      result = part;
    else if (o.kind == PoolKind::average)
      result = add(result, part);
    else
      result = add(result, leaky_relu(sub(part, result), {.slope = 0}));
  }
  return result;
}

// The number of taps inside an axis of n pixels for each output of a "same" window of `kernel` taps.
template <class T>
Tensor<T> same_counts(std::int64_t n, std::int64_t kernel) {
  const std::int64_t half = kernel / 2;
  auto counts = Tensor<T>::empty({n});
  for (std::int64_t i = 0; i < n; ++i)
    counts.data()[i] = static_cast<T>(std::min(i + half, n - 1) - std::max(i - half, std::int64_t{0}) + 1);
  return counts;
}

}  // namespace detail

template <class T, class D>
Tensor<T, D> pool2d(const Tensor<T, D>& x, const Pool2dOptions& o) {
  using pixsyn::detail::check;
  check(x.rank() == 4, "pool2d: x must be (B, C, H, W), got ", x.shape());
  check(o.kernel >= 1 && o.stride >= 1, "pool2d: kernel ", o.kernel, " and stride ", o.stride, " must be >= 1");
  if (!o.same) {
    check(x.dim(2) >= o.kernel && x.dim(3) >= o.kernel, "pool2d: the ", o.kernel, "x", o.kernel,
          " window does not fit x ", x.shape());
    auto y = detail::pool_axis(detail::pool_axis(x, 2, o), 3, o);
    return o.kind == PoolKind::average ? div(y, static_cast<T>(o.kernel * o.kernel)) : y;
  }
  check(o.stride == 1 && o.kernel % 2 == 1, "pool2d: a same pool needs stride 1 and an odd kernel, got kernel ",
        o.kernel, " and stride ", o.stride);
  check(o.kind == PoolKind::average,
        "pool2d: same max pooling is not supported (zero padding would win over "
        "negative values)");
  const std::int64_t half = o.kernel / 2, h = x.dim(2), w = x.dim(3);
  const auto padded = pad_slice(pad_slice(x, 2, half, h + 2 * half), 3, half, w + 2 * half);
  const auto sums = detail::pool_axis(detail::pool_axis(padded, 2, o), 3, o);
  const auto rows = reshape(detail::same_counts<T>(h, o.kernel), {h, 1});
  const auto cols = reshape(detail::same_counts<T>(w, o.kernel), {1, w});
  return div(sums, pixsyn::detail::on_device<D>(reshape(mul(rows, cols), {1, 1, h, w})));
}

// See the top of this file. x (B, C, H, W) -> (B, C, height, width).
template <class T, class D>
Tensor<T, D> resize_bilinear_half_pixel(const Tensor<T, D>& x, std::int64_t height, std::int64_t width) {
  pixsyn::detail::check(x.rank() == 4 && x.dim(2) > 0 && x.dim(3) > 0 && height > 0 && width > 0,
                        "resize_bilinear_half_pixel: expects x (B, C, H, W) with H, W > 0 and a positive size, got x ",
                        x.shape(), " and ", height, "x", width);
  // grid_sample without align_corners maps g to ((g + 1) · n - 1) / 2; g = (2o + 1) / n_out - 1 makes that
  // (o + 0.5) · n / n_out - 0.5, and border padding clamps it to the edge pixels.
  auto grid = Tensor<T>::empty({x.dim(0), height, width, 2});
  for (std::int64_t b = 0; b < x.dim(0); ++b)
    for (std::int64_t y = 0; y < height; ++y)
      for (std::int64_t c = 0; c < width; ++c) {
        T* g = grid.data() + ((b * height + y) * width + c) * 2;
        g[0] = static_cast<T>((2.0 * static_cast<double>(c) + 1) / static_cast<double>(width) - 1);
        g[1] = static_cast<T>((2.0 * static_cast<double>(y) + 1) / static_cast<double>(height) - 1);
      }
  return grid_sample(x, pixsyn::detail::on_device<D>(grid), {.align_corners = false, .padding = Padding::border});
}

}  // namespace pixsyn::metrics
