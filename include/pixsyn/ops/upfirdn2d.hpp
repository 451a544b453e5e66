#pragma once
// StyleGAN2's resampling op on Tensor (CPU and CUDA), NCHW; Var overloads with first and second
// derivatives: autograd/functions/upfirdn2d.hpp.
//
//   upfirdn2d(x, f, {.up, .down, .pad_x0, .pad_x1, .pad_y0, .pad_y1, .gain, .flip_filter})
//       x (B, C, H, W) -> (B, C, (H·up + pad_y0 + pad_y1 - fh) / down + 1, (W·up + pad_x0 + pad_x1 - fw) / down + 1):
//       insert up - 1 zeros after every sample, pad with zeros (a negative pad crops), convolve every
//       channel with the FIR filter f · gain (flipped as a true convolution unless flip_filter), keep every
//       down-th sample. f is 2-D (fh, fw), or 1-D (n): separable, f applied along the width and then the height,
//       each time scaled by √gain. The official op's reference definition.
//   upfirdn2d_bias_leaky_relu(x, f, options, bias, activation)
//       bias_leaky_relu(upfirdn2d(x, f, options), bias, 1, activation): Tensor only (inference, no gradient); on
//       CUDA with a 2-D filter one pass (the activation applied as the filtered values are stored), equal to
//       the two ops bit for bit.
//   setup_filter(taps, {.normalize, .flip, .gain, .separable})
//       the official setup_filter: 1-D taps become their outer product (unless separable, which defaults to
//       ≥ 8 taps), divided by their sum when normalising, times gain^(rank/2). setup_filter({1, 3, 3, 1}) is
//       the (4, 4) outer([1,3,3,1]) / 64 of StyleGAN2's `resample_filter` buffers.
//   upsample2d(x, f, up, padding), downsample2d(x, f, down, padding), filter2d(x, f, padding)
//       the official wrappers: upfirdn2d with the padding that keeps the image centred and, for upsample2d,
//       gain up² (so a constant image stays constant). Templates over the value type (Tensor or Var).
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/backend/cuda/upfirdn2d.hpp"
#include "pixsyn/backend/eigen/upfirdn2d.hpp"
#include "pixsyn/backend/fir_geometry.hpp"
#include "pixsyn/core/tensor.hpp"
#include "pixsyn/ops/activation.hpp"

namespace pixsyn {

struct Upfirdn2dOptions {
  std::int64_t up = 1, down = 1;
  std::int64_t pad_x0 = 0, pad_x1 = 0, pad_y0 = 0, pad_y1 = 0;  // left, right, top, bottom; negative crops
  double gain = 1;
  bool flip_filter = false;  // false: convolution (the filter is flipped), as the official op
};

struct FilterOptions {
  bool normalize = true;
  bool flip = false;
  double gain = 1;
  std::optional<bool> separable;  // default: 1-D taps stay 1-D when there are at least 8 of them
};

namespace detail {

// Factors and paddings beyond this are refused, so that no size arithmetic can overflow.
inline constexpr std::int64_t max_fir_step = std::int64_t(1) << 30;

inline backend::FirAxis fir_axis(const char* name, std::int64_t in, std::int64_t taps, std::int64_t up,
                                 std::int64_t down, std::int64_t pad0, std::int64_t pad1) {
  const auto in_range = [](std::int64_t v) { return v >= -max_fir_step && v <= max_fir_step; };
  check(up >= 1 && up <= max_fir_step && down >= 1 && down <= max_fir_step, "upfirdn2d: up ", up, " and down ", down,
        " must be in [1, ", max_fir_step, "]");
  check(in_range(pad0) && in_range(pad1), "upfirdn2d: paddings ", pad0, " and ", pad1, " along ", name,
        " must be within ±", max_fir_step);
  const std::int64_t span = in * up + pad0 + pad1 - taps;
  check(in >= 1 && span >= 0, "upfirdn2d: the ", taps, "-tap filter does not fit the ", name, " of ", in,
        " samples upsampled by ", up, " and padded by (", pad0, ", ", pad1, ")");
  return {.in = in, .out = span / down + 1, .taps = taps, .up = up, .down = down, .pad0 = pad0, .pad1 = pad1};
}

// The geometry of one 2-D pass over x (B, C, H, W) with a (fh, fw) filter.
inline backend::FirGeometry fir_geometry(const Shape& x, std::int64_t fh, std::int64_t fw, std::int64_t up_y,
                                         std::int64_t up_x, std::int64_t down_y, std::int64_t down_x,
                                         const Upfirdn2dOptions& o, bool pad_y, bool pad_x, double gain) {
  check(x.rank() == 4, "upfirdn2d: x must be (B, C, H, W), got ", x);
  check(std::isfinite(o.gain), "upfirdn2d: gain ", o.gain, " is not finite");
  backend::FirGeometry g;
  g.planes = x[0] * x[1];
  g.y = fir_axis("height", x[2], fh, up_y, down_y, pad_y ? o.pad_y0 : 0, pad_y ? o.pad_y1 : 0);
  g.x = fir_axis("width", x[3], fw, up_x, down_x, pad_x ? o.pad_x0 : 0, pad_x ? o.pad_x1 : 0);
  g.flip_filter = o.flip_filter;
  g.gain = gain;
  return g;
}

// The adjoint of a pass: upsampling and downsampling swap, the filter flips, the padding moves so that
// the output has the pass's input size (as the official op's backward).
inline backend::FirAxis fir_adjoint_axis(const backend::FirAxis& a) {
  return {.in = a.out,
          .out = a.in,
          .taps = a.taps,
          .up = a.down,
          .down = a.up,
          .pad0 = a.taps - 1 - a.pad0,
          .pad1 = a.in * a.up - a.out * a.down + a.pad0 - a.up + 1};
}
inline backend::FirGeometry fir_adjoint(const backend::FirGeometry& g) {
  return {.planes = g.planes,
          .y = fir_adjoint_axis(g.y),
          .x = fir_adjoint_axis(g.x),
          .flip_filter = !g.flip_filter,
          .gain = g.gain};
}

inline Shape fir_output(const Shape& x, const backend::FirGeometry& g) { return {x[0], x[1], g.y.out, g.x.out}; }

// One 2-D pass with a (fh, fw) filter viewed from f's data.
template <class T>
Tensor<T, Cpu> fir_pass(const Tensor<T, Cpu>& x, const Tensor<T, Cpu>& f, const backend::FirGeometry& g) {
  auto y = Tensor<T, Cpu>::empty(fir_output(x.shape(), g));
  backend::eigen::upfirdn2d(g, x.data(), f.data(), y.data());
  return y;
}
template <class T>
Tensor<T, Cuda> fir_pass(const Tensor<T, Cuda>& x, const Tensor<T, Cuda>& f, const backend::FirGeometry& g) {
  auto y = Tensor<T, Cuda>::empty(fir_output(x.shape(), g));
  backend::cuda::upfirdn2d(g, x.data(), f.data(), y.data());
  return y;
}

// The passes of upfirdn2d: one with a 2-D filter; width then height with a 1-D (separable) one.
inline std::vector<backend::FirGeometry> fir_passes(const Shape& x, const Shape& f, const Upfirdn2dOptions& o) {
  check(f.rank() == 1 || f.rank() == 2, "upfirdn2d: the filter must be 2-D (fh, fw) or 1-D (separable), got ", f);
  check(f.numel() >= 1, "upfirdn2d: the filter ", f, " is empty");
  if (f.rank() == 2) return {fir_geometry(x, f[0], f[1], o.up, o.up, o.down, o.down, o, true, true, o.gain)};
  const double root = std::sqrt(o.gain);
  const auto across = fir_geometry(x, 1, f[0], 1, o.up, 1, o.down, o, false, true, root);
  const Shape mid{x[0], x[1], x[2], across.x.out};
  return {across, fir_geometry(mid, f[0], 1, o.up, 1, o.down, 1, o, true, false, root)};
}

}  // namespace detail

template <class T, class D>
Tensor<T, D> upfirdn2d(const Tensor<T, D>& x, const Tensor<T, D>& f, Upfirdn2dOptions options = {}) {
  Tensor<T, D> y = x;
  for (const auto& g : detail::fir_passes(x.shape(), f.shape(), options)) y = detail::fir_pass(y, f, g);
  return y;
}

template <class T>
Tensor<T, Cpu> upfirdn2d_bias_leaky_relu(const Tensor<T, Cpu>& x, const Tensor<T, Cpu>& f,
                                         const Upfirdn2dOptions& options, const Tensor<T, Cpu>& bias,
                                         const LeakyReluOptions& activation) {
  return bias_leaky_relu(upfirdn2d(x, f, options), bias, 1, activation);
}

template <class T>
Tensor<T, Cuda> upfirdn2d_bias_leaky_relu(const Tensor<T, Cuda>& x, const Tensor<T, Cuda>& f,
                                          const Upfirdn2dOptions& options, const Tensor<T, Cuda>& bias,
                                          const LeakyReluOptions& activation) {
  const auto passes = detail::fir_passes(x.shape(), f.shape(), options);
  if (passes.size() != 1) return bias_leaky_relu(upfirdn2d(x, f, options), bias, 1, activation);
  const auto y_shape = detail::fir_output(x.shape(), passes[0]);
  const auto act = detail::bias_leaky_relu_args(bias, x.dim(1), activation, "upfirdn2d_bias_leaky_relu");
  auto y = Tensor<T, Cuda>::empty(y_shape);
  if (y.numel() > 0) backend::cuda::upfirdn2d(passes[0], x.data(), f.data(), act, y.data());
  return y;
}

// The official setup_filter (see the top of this file), as a CPU tensor; to_device() it for the GPU.
template <class T = float>
Tensor<T, Cpu> setup_filter(const std::vector<double>& taps, FilterOptions options = {}) {
  const auto n = static_cast<std::int64_t>(taps.size());
  detail::check(n >= 1, "setup_filter: no taps");
  for (double t : taps) detail::check(std::isfinite(t), "setup_filter: tap ", t, " is not finite");
  const bool separable = options.separable.value_or(n >= 8);
  std::vector<double> f;
  for (std::int64_t i = 0; i < (separable ? 1 : n); ++i)
    for (std::int64_t j = 0; j < n; ++j) f.push_back((separable ? 1.0 : taps[i]) * taps[j]);
  double total = 0;
  for (double v : f) total += v;
  detail::check(!options.normalize || total != 0, "setup_filter: cannot normalise taps that sum to 0");
  const double scale = (options.normalize ? 1 / total : 1.0) * (separable ? std::sqrt(options.gain) : options.gain);
  std::vector<T> values;
  for (std::size_t i = 0; i < f.size(); ++i)
    values.push_back(static_cast<T>(f[options.flip ? f.size() - 1 - i : i] * scale));
  return Tensor<T, Cpu>::from(values, separable ? Shape{n} : Shape{n, n});
}

namespace detail {
// The filter's (height, width) taps: 1-D filters have n taps on both axes.
inline std::int64_t filter_taps(const Shape& f, int axis) { return f.rank() == 1 ? f[0] : f[axis]; }
}  // namespace detail

// Upsampling by `up` (zero insertion and the filter), keeping the image centred, gain up²: the official
// upsample2d. `padding` extends every side further.
template <class V, class F>
V upsample2d(const V& x, const F& f, std::int64_t up = 2, std::int64_t padding = 0) {
  const std::int64_t fh = detail::filter_taps(f.shape(), 0), fw = detail::filter_taps(f.shape(), 1);
  return upfirdn2d(x, f,
                   {.up = up,
                    .pad_x0 = padding + (fw + up - 1) / 2,
                    .pad_x1 = padding + (fw - up) / 2,
                    .pad_y0 = padding + (fh + up - 1) / 2,
                    .pad_y1 = padding + (fh - up) / 2,
                    .gain = static_cast<double>(up * up)});
}

// Filtering and keeping every down-th pixel, centred: the official downsample2d.
template <class V, class F>
V downsample2d(const V& x, const F& f, std::int64_t down = 2, std::int64_t padding = 0) {
  const std::int64_t fh = detail::filter_taps(f.shape(), 0), fw = detail::filter_taps(f.shape(), 1);
  return upfirdn2d(x, f,
                   {.down = down,
                    .pad_x0 = padding + (fw - down + 1) / 2,
                    .pad_x1 = padding + (fw - down) / 2,
                    .pad_y0 = padding + (fh - down + 1) / 2,
                    .pad_y1 = padding + (fh - down) / 2});
}

// Filtering at the same size, centred: the official filter2d.
template <class V, class F>
V filter2d(const V& x, const F& f, std::int64_t padding = 0) {
  const std::int64_t fh = detail::filter_taps(f.shape(), 0), fw = detail::filter_taps(f.shape(), 1);
  return upfirdn2d(x, f,
                   {.pad_x0 = padding + fw / 2,
                    .pad_x1 = padding + (fw - 1) / 2,
                    .pad_y0 = padding + fh / 2,
                    .pad_y1 = padding + (fh - 1) / 2});
}

}  // namespace pixsyn
