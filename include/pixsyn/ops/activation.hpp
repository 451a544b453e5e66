#pragma once
// Activations on Tensor (CPU and CUDA): leaky_relu (with StyleGAN2's gain and clamp), the fused bias_leaky_relu,
// their backward leaky_relu_backward, softplus.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "pixsyn/backend/cuda/bias_leaky_relu.hpp"
#include "pixsyn/backend/cuda/elementwise.hpp"
#include "pixsyn/backend/eigen/activation.hpp"
#include "pixsyn/backend/eigen/elementwise.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn {

struct LeakyReluOptions {
  double slope = 0.2;  // for negative inputs; must be >= 0
  double gain = 1;     // multiplies the result (CIPS uses sqrt(2)); must be > 0
  double clamp = -1;   // clamps the result to [-clamp, clamp]; negative means off
};

// bias_leaky_relu(x, bias, 1, options) not yet applied to a tensor x (B, C, ...): inference ops that read x
// anyway apply it as they read it (conv2d_scaled, ALIS's coordinate fuser). An undefined bias: none pending.
template <class T, class D>
struct PendingBiasLeakyRelu {
  Tensor<T, D> bias;
  LeakyReluOptions options;
};

namespace detail {
template <class T>
backend::eigen::LeakyRelu<T> leaky_relu_fn(const LeakyReluOptions& o, const char* op) {
  // The backward pass reads the slope from the sign of the output, which needs these.
  check(o.slope >= 0, op, ": slope must be >= 0, got ", o.slope);
  check(o.gain > 0, op, ": gain must be > 0, got ", o.gain);
  return backend::eigen::LeakyRelu<T>(o.slope, o.gain, o.clamp);
}

// The same function's constants for the GPU kernels.
template <class T>
backend::cuda::UnaryArgs leaky_relu_args(const LeakyReluOptions& o, const char* op) {
  const auto f = leaky_relu_fn<T>(o, op);
  return {.a = f.gain, .b = f.slope_gain, .c = f.lo, .d = f.hi, .clamped = f.clamped};
}

// bias_leaky_relu's constants for the fused GPU kernels (backend/cuda/bias_leaky_relu.hpp), bias checked against
// the channels it runs along.
template <class T>
backend::cuda::BiasLeakyRelu<T> bias_leaky_relu_args(const Tensor<T, Cuda>& bias, std::int64_t channels,
                                                     const LeakyReluOptions& o, const char* op) {
  check(bias.rank() == 1 && bias.dim(0) == channels, op, ": bias of shape ", bias.shape(), " does not match the ",
        channels, " channels it is added along");
  const auto f = leaky_relu_fn<T>(o, op);
  return {
      .bias = bias.data(), .channels = channels, .gain = f.gain, .slope_gain = f.slope_gain, .lo = f.lo, .hi = f.hi};
}

// dy/dx of leaky_relu from its output y: slope * gain, gain, or 0 where y was clamped. The backward pass multiplies
// by it without writing it (leaky_relu_backward); tests and bench_elementwise_gpu compare the two.
template <class T>
Tensor<T, Cpu> leaky_relu_derivative(const Tensor<T, Cpu>& y, const LeakyReluOptions& o) {
  const auto f = leaky_relu_fn<T>(o, "leaky_relu");
  return backend::eigen::unary_map(y, [f](T v) { return f.derivative(v); });
}
template <class T>
Tensor<T, Cuda> leaky_relu_derivative(const Tensor<T, Cuda>& y, const LeakyReluOptions& o) {
  return backend::cuda::unary_map(y, backend::cuda::Unary::leaky_relu_derivative, leaky_relu_args<T>(o, "leaky_relu"));
}

// The gradient of leaky_relu's backward pass and its output y, checked to have one shape.
template <class T, class D>
void check_leaky_relu_backward(const Tensor<T, D>& grad, const Tensor<T, D>& y) {
  check(grad.shape() == y.shape(), "leaky_relu_backward: gradient of shape ", grad.shape(),
        " does not match the leaky ReLU's output of shape ", y.shape());
}

// The axis of x that bias runs along, checked against bias's shape.
template <class T, class D>
int bias_axis(const Tensor<T, D>& x, const Tensor<T, D>& bias, int axis) {
  check(axis >= -x.rank() && axis < x.rank(), "bias_leaky_relu: axis ", axis, " is out of range for x of shape ",
        x.shape());
  const int a = axis < 0 ? axis + x.rank() : axis;
  check(bias.rank() == 1 && bias.dim(0) == x.dim(a), "bias_leaky_relu: bias of shape ", bias.shape(),
        " does not match axis ", axis, " of x of shape ", x.shape(), " (expected (", x.dim(a), ",))");
  return a;
}
}  // namespace detail

template <class T>
Tensor<T, Cpu> leaky_relu(const Tensor<T, Cpu>& x, const LeakyReluOptions& options = {}) {
  return backend::eigen::unary_map(x, detail::leaky_relu_fn<T>(options, "leaky_relu"));
}

// clamp(leaky_relu(x + b) * gain, -clamp, clamp) with the 1-D bias b added along `axis` of x (negative
// counts from the end): channels-last (B, P, C) uses axis = -1, (B, C, H, W) uses axis = 1.
template <class T>
Tensor<T, Cpu> bias_leaky_relu(const Tensor<T, Cpu>& x, const Tensor<T, Cpu>& bias, int axis,
                               const LeakyReluOptions& options = {}) {
  const auto f = detail::leaky_relu_fn<T>(options, "bias_leaky_relu");
  return backend::eigen::bias_leaky_relu(x, bias, detail::bias_axis(x, bias, axis), f);
}

// grad · dy/dx of leaky_relu (or bias_leaky_relu, whose derivative in x is the same), read from its output y: the
// backward pass in one read of grad and y, bit for bit mul(grad, detail::leaky_relu_derivative(y, options)).
template <class T>
Tensor<T, Cpu> leaky_relu_backward(const Tensor<T, Cpu>& grad, const Tensor<T, Cpu>& y,
                                   const LeakyReluOptions& options = {}) {
  detail::check_leaky_relu_backward(grad, y);
  const auto f = detail::leaky_relu_fn<T>(options, "leaky_relu_backward");
  return backend::eigen::binary_map(grad, y, "leaky_relu_backward", [f](T g, T v) { return g * f.derivative(v); });
}

// log(1 + exp(x)) as max(x, 0) + log1p(exp(-|x|)): no overflow for large x, no lost digits for small.
template <class T>
Tensor<T, Cpu> softplus(const Tensor<T, Cpu>& x) {
  return backend::eigen::unary_map(x, [](T v) { return std::max(v, T(0)) + std::log1p(std::exp(-std::abs(v))); });
}

template <class T>
Tensor<T, Cuda> leaky_relu(const Tensor<T, Cuda>& x, const LeakyReluOptions& options = {}) {
  return backend::cuda::unary_map(x, backend::cuda::Unary::leaky_relu,
                                  detail::leaky_relu_args<T>(options, "leaky_relu"));
}

template <class T>
Tensor<T, Cuda> bias_leaky_relu(const Tensor<T, Cuda>& x, const Tensor<T, Cuda>& bias, int axis,
                                const LeakyReluOptions& options = {}) {
  const auto f = detail::leaky_relu_args<T>(options, "bias_leaky_relu");
  const int a = detail::bias_axis(x, bias, axis);
  std::int64_t outer = 1, inner = 1;
  for (int i = 0; i < a; ++i) outer *= x.dim(i);
  for (int i = a + 1; i < x.rank(); ++i) inner *= x.dim(i);
  auto out = Tensor<T, Cuda>::empty(x.shape());
  backend::cuda::bias_leaky_relu(x.data(), bias.data(), out.data(), outer, x.dim(a), inner, f);
  return out;
}

template <class T>
Tensor<T, Cuda> leaky_relu_backward(const Tensor<T, Cuda>& grad, const Tensor<T, Cuda>& y,
                                    const LeakyReluOptions& options = {}) {
  detail::check_leaky_relu_backward(grad, y);
  const auto f = detail::leaky_relu_args<T>(options, "leaky_relu_backward");
  auto out = Tensor<T, Cuda>::empty(y.shape());
  backend::cuda::leaky_relu_backward(grad.data(), y.data(), out.data(), y.numel(), f);
  return out;
}

// x with its pending activation applied (x itself when none is pending).
template <class T, class D>
Tensor<T, D> apply_pending(const Tensor<T, D>& x, const PendingBiasLeakyRelu<T, D>* pending) {
  return pending && pending->bias.defined() ? bias_leaky_relu(x, pending->bias, 1, pending->options) : x;
}

template <class T>
Tensor<T, Cuda> softplus(const Tensor<T, Cuda>& x) {
  return backend::cuda::unary_map(x, backend::cuda::Unary::softplus);
}

}  // namespace pixsyn
