#pragma once
// 2-D convolutions on Tensor (CPU and CUDA), NCHW, with PyTorch's conventions. Var overloads with first and
// second derivatives: autograd/functions/conv.hpp.
//
//   conv2d(x, w, {.stride, .padding})
//       x (B, I, H, W), w (O, I, kh, kw) -> (B, O, Ho, Wo), Ho = (H + 2·padding - kh) / stride + 1:
//       cross-correlation with `padding` zeros on every side, as torch.nn.functional.conv2d. A weight
//       (B, O, I, kh, kw) gives every sample its own weights (StyleGAN2's modulated conv, which the official
//       code runs as a grouped conv; see modulate_weight).
//   conv_transpose2d(x, w, {.stride, .padding, .output_padding})
//       x (B, I, H, W), w (I, O, kh, kw) -> (B, O, (H - 1)·stride - 2·padding + kh + output_padding, ...):
//       torch.nn.functional.conv_transpose2d (the weight's first axis is the input channels, the weight is
//       not flipped); output_padding < stride adds rows and columns at the bottom and right. Per sample:
//       w (B, I, O, kh, kw). It is the adjoint (input gradient) of conv2d with the same weight.
//   conv2d_weight_grad(x, dy, weight_shape, {.stride, .padding})
//       the gradient of <conv2d(x, w), dy> with respect to w of weight_shape: (O, I, kh, kw) sums over the
//       batch, (B, O, I, kh, kw) keeps one per sample.
//   conv2d_scaled(x, scale, w, {.stride, .padding}, x_activation = nullptr)
//       conv2d(mul(x, scale), w) for a scale (B, I, 1, W): one factor per sample, input channel and column
//       (ALIS's spatially aligned modulation); with a pending activation (ops/activation.hpp) x is read through
//       it first. Tensor only (inference, no gradient); on CUDA the values are formed as the convolution reads x
//       (no product tensor), equal to the unfused ops bit for bit.
//   modulate_weight(w, s, {.demodulate, .eps})
//       StyleGAN2's per-sample weights w[o, i] · s[b, i] · d[b, o], d = rsqrt(Σ_{i,ky,kx} (w s)² + eps) when
//       demodulating: (B, O, I, kh, kw) for conv2d; permute({0, 2, 1, 3, 4}) for conv_transpose2d.
//
// CPU: im2col + Eigen GEMM (backend/eigen/conv.hpp), deterministic. CUDA: im2col + cuBLAS.
#include <cstdint>

#include "pixsyn/backend/conv_geometry.hpp"
#include "pixsyn/backend/cuda/conv.hpp"
#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/backend/eigen/conv.hpp"
#include "pixsyn/core/tensor.hpp"
#include "pixsyn/ops/activation.hpp"
#include "pixsyn/ops/arithmetic.hpp"
#include "pixsyn/ops/math.hpp"
#include "pixsyn/ops/reduce.hpp"
#include "pixsyn/ops/shape.hpp"

namespace pixsyn {

struct Conv2dOptions {
  std::int64_t stride = 1;
  std::int64_t padding = 0;  // zeros on every side
};

struct ConvTranspose2dOptions {
  std::int64_t stride = 1;
  std::int64_t padding = 0;         // rows and columns removed from every side of the full output
  std::int64_t output_padding = 0;  // rows and columns added at the bottom and right; < stride
};

struct ModulateOptions {
  bool demodulate = true;
  double eps = 1e-8;  // added inside the demodulation rsqrt
};

namespace detail {

// Strides and paddings beyond this are refused, so that no size arithmetic can overflow.
inline constexpr std::int64_t max_conv_step = std::int64_t(1) << 30;

inline void check_conv_steps(const char* op, std::int64_t stride, std::int64_t padding) {
  check(stride >= 1 && stride <= max_conv_step, op, ": stride ", stride, " is not in [1, ", max_conv_step, "]");
  check(padding >= 0 && padding <= max_conv_step, op, ": padding ", padding, " is not in [0, ", max_conv_step, "]");
}

// x is (B, C, H, W); the weight is `layout`, or per sample (B, ...) with x's batch.
inline void check_conv_weight(const char* op, const Shape& x, const Shape& w, const char* layout) {
  check(x.rank() == 4, op, ": x must be (B, C, H, W), got ", x);
  check(w.rank() == 4 || w.rank() == 5, op, ": weight must be ", layout, " or per sample (B, ", layout + 1, ", got ",
        w);
  check(w.rank() == 4 || w[0] == x[0], op, ": per-sample weight ", w, " does not have x's batch of ", x[0], " (x ", x,
        ")");
  check(w[-1] >= 1 && w[-2] >= 1, op, ": weight ", w, " has an empty kernel");
}

inline backend::ConvGeometry conv2d_geometry(const Shape& x, const Shape& w, const Conv2dOptions& o) {
  check_conv_steps("conv2d", o.stride, o.padding);
  check_conv_weight("conv2d", x, w, "(O, I, kh, kw)");
  backend::ConvGeometry g;
  g.per_sample = w.rank() == 5;
  g.batch = x[0];
  g.in_channels = x[1];
  g.height = x[2];
  g.width = x[3];
  g.out_channels = w[-4];
  g.kernel_h = w[-2];
  g.kernel_w = w[-1];
  g.stride = o.stride;
  g.padding = o.padding;
  check(w[-3] == x[1], "conv2d: weight ", w, " takes ", w[-3], " input channels but x ", x, " has ", x[1]);
  check(x[2] + 2 * o.padding >= g.kernel_h && x[3] + 2 * o.padding >= g.kernel_w, "conv2d: the ", g.kernel_h, "x",
        g.kernel_w, " kernel of weight ", w, " does not fit x ", x, " padded by ", o.padding);
  g.out_height = (g.height + 2 * g.padding - g.kernel_h) / g.stride + 1;
  g.out_width = (g.width + 2 * g.padding - g.kernel_w) / g.stride + 1;
  return g;
}

// The geometry of the conv2d whose adjoint this transposed convolution is: its y side is x here.
inline backend::ConvGeometry conv_transpose2d_geometry(const Shape& x, const Shape& w,
                                                       const ConvTranspose2dOptions& o) {
  check_conv_steps("conv_transpose2d", o.stride, o.padding);
  check_conv_weight("conv_transpose2d", x, w, "(I, O, kh, kw)");
  check(o.output_padding >= 0 && o.output_padding < o.stride, "conv_transpose2d: output_padding ", o.output_padding,
        " must be in [0, stride = ", o.stride, ")");
  check(w[-4] == x[1], "conv_transpose2d: weight ", w, " takes ", w[-4], " input channels but x ", x, " has ", x[1]);
  check(x[2] >= 1 && x[3] >= 1, "conv_transpose2d: x ", x, " has no pixels");
  backend::ConvGeometry g;
  g.per_sample = w.rank() == 5;
  g.batch = x[0];
  g.out_channels = x[1];
  g.out_height = x[2];
  g.out_width = x[3];
  g.in_channels = w[-3];
  g.kernel_h = w[-2];
  g.kernel_w = w[-1];
  g.stride = o.stride;
  g.padding = o.padding;
  g.height = (x[2] - 1) * o.stride - 2 * o.padding + g.kernel_h + o.output_padding;
  g.width = (x[3] - 1) * o.stride - 2 * o.padding + g.kernel_w + o.output_padding;
  check(g.height >= 1 && g.width >= 1, "conv_transpose2d: padding ", o.padding, " leaves no output for x ", x,
        " and weight ", w);
  return g;
}

// The geometry of conv2d(x, w) for w of weight_shape, checked against dy's shape.
inline backend::ConvGeometry conv2d_weight_grad_geometry(const Shape& x, const Shape& dy, const Shape& weight_shape,
                                                         const Conv2dOptions& o) {
  const auto g = conv2d_geometry(x, weight_shape, o);
  const Shape y{g.batch, g.out_channels, g.out_height, g.out_width};
  check(dy == y, "conv2d_weight_grad: dy ", dy, " is not conv2d's output ", y, " for x ", x, " and weight ",
        weight_shape);
  return g;
}

inline Shape x_side(const backend::ConvGeometry& g) { return {g.batch, g.in_channels, g.height, g.width}; }
inline Shape y_side(const backend::ConvGeometry& g) { return {g.batch, g.out_channels, g.out_height, g.out_width}; }
inline Shape weight_shape(const backend::ConvGeometry& g) {
  return g.per_sample ? Shape{g.batch, g.out_channels, g.in_channels, g.kernel_h, g.kernel_w}
                      : Shape{g.out_channels, g.in_channels, g.kernel_h, g.kernel_w};
}

// The three kernels of one geometry, which the public ops and the Var backward rules share: the
// convolution (x side -> y side), its adjoint (y side -> x side) and its weight gradient.
template <class T>
Tensor<T, Cpu> conv_forward(const Tensor<T, Cpu>& x, const Tensor<T, Cpu>& w, const backend::ConvGeometry& g) {
  auto y = Tensor<T, Cpu>::empty(y_side(g));
  backend::eigen::conv2d(g, x.data(), w.data(), y.data());
  return y;
}
template <class T>
Tensor<T, Cpu> conv_adjoint(const Tensor<T, Cpu>& dy, const Tensor<T, Cpu>& w, const backend::ConvGeometry& g) {
  auto dx = Tensor<T, Cpu>::empty(x_side(g));
  backend::eigen::conv2d_input_grad(g, dy.data(), w.data(), dx.data());
  return dx;
}
template <class T>
Tensor<T, Cpu> conv_weight_grad(const Tensor<T, Cpu>& x, const Tensor<T, Cpu>& dy, const backend::ConvGeometry& g) {
  auto dw = Tensor<T, Cpu>::empty(weight_shape(g));
  backend::eigen::conv2d_weight_grad(g, x.data(), dy.data(), dw.data());
  return dw;
}

template <class T>
Tensor<T, Cuda> conv_forward(const Tensor<T, Cuda>& x, const Tensor<T, Cuda>& w, const backend::ConvGeometry& g) {
  auto y = Tensor<T, Cuda>::empty(y_side(g));
  backend::cuda::conv2d(g, x.data(), w.data(), y.data());
  return y;
}
template <class T>
Tensor<T, Cuda> conv_adjoint(const Tensor<T, Cuda>& dy, const Tensor<T, Cuda>& w, const backend::ConvGeometry& g) {
  auto dx = Tensor<T, Cuda>::empty(x_side(g));
  backend::cuda::conv2d_input_grad(g, dy.data(), w.data(), dx.data());
  return dx;
}
template <class T>
Tensor<T, Cuda> conv_weight_grad(const Tensor<T, Cuda>& x, const Tensor<T, Cuda>& dy, const backend::ConvGeometry& g) {
  auto dw = Tensor<T, Cuda>::empty(weight_shape(g));
  backend::cuda::conv2d_weight_grad(g, x.data(), dy.data(), dw.data());
  return dw;
}

}  // namespace detail

template <class T, class D>
Tensor<T, D> conv2d(const Tensor<T, D>& x, const Tensor<T, D>& w, Conv2dOptions options = {}) {
  return detail::conv_forward(x, w, detail::conv2d_geometry(x.shape(), w.shape(), options));
}

namespace detail {
inline void check_column_scale(const char* op, const Shape& x, const Shape& scale) {
  check(x.rank() == 4 && scale == Shape{x[0], x[1], 1, x[3]}, op, ": scale ", scale,
        " is not one factor per sample, channel and column of x ", x, " (expected (B, C, 1, W))");
}
}  // namespace detail

template <class T>
Tensor<T, Cpu> conv2d_scaled(const Tensor<T, Cpu>& x, const Tensor<T, Cpu>& scale, const Tensor<T, Cpu>& w,
                             Conv2dOptions options = {}, const PendingBiasLeakyRelu<T, Cpu>* x_activation = nullptr) {
  detail::check_column_scale("conv2d_scaled", x.shape(), scale.shape());
  return conv2d(mul(apply_pending(x, x_activation), scale), w, options);
}

template <class T>
Tensor<T, Cuda> conv2d_scaled(const Tensor<T, Cuda>& x, const Tensor<T, Cuda>& scale, const Tensor<T, Cuda>& w,
                              Conv2dOptions options = {}, const PendingBiasLeakyRelu<T, Cuda>* x_activation = nullptr) {
  detail::check_column_scale("conv2d_scaled", x.shape(), scale.shape());
  const auto g = detail::conv2d_geometry(x.shape(), w.shape(), options);
  const auto act =
      x_activation && x_activation->bias.defined()
          ? detail::bias_leaky_relu_args(x_activation->bias, x.dim(1), x_activation->options, "conv2d_scaled")
          : backend::cuda::BiasLeakyRelu<T>{};
  auto y = Tensor<T, Cuda>::empty(detail::y_side(g));
  backend::cuda::conv2d(g, x.data(), act, scale.data(), w.data(), y.data());
  return y;
}

template <class T, class D>
Tensor<T, D> conv_transpose2d(const Tensor<T, D>& x, const Tensor<T, D>& w, ConvTranspose2dOptions options = {}) {
  return detail::conv_adjoint(x, w, detail::conv_transpose2d_geometry(x.shape(), w.shape(), options));
}

template <class T, class D>
Tensor<T, D> conv2d_weight_grad(const Tensor<T, D>& x, const Tensor<T, D>& dy, const Shape& weight_shape,
                                Conv2dOptions options = {}) {
  return detail::conv_weight_grad(x, dy,
                                  detail::conv2d_weight_grad_geometry(x.shape(), dy.shape(), weight_shape, options));
}

// Per-sample weights (B, O, I, kh, kw) from w (O, I, kh, kw) and styles s (B, I); see the top of this file.
// One template for Tensor and Var (with autograd/functions/ included): it is made of their common ops.
template <class V>
V modulate_weight(const V& w, const V& s, ModulateOptions options = {}) {
  detail::check(w.rank() == 4 && s.rank() == 2 && s.dim(1) == w.dim(1), "modulate_weight: expects w (O, I, kh, kw) ",
                "and styles (B, I); got w ", w.shape(), " and styles ", s.shape());
  const std::int64_t batch = s.dim(0), out = w.dim(0), in = w.dim(1), kh = w.dim(2), kw = w.dim(3);
  V wb = mul(reshape(w, Shape{1, out, in, kh, kw}), reshape(s, Shape{batch, 1, in, 1, 1}));
  if (!options.demodulate) return wb;
  using T = typename V::value_type;
  return mul(wb, rsqrt(add(sum(square(wb), {2, 3, 4}, true), static_cast<T>(options.eps))));
}

}  // namespace pixsyn
