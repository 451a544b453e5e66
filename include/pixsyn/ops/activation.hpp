#pragma once
// Activations on Tensor: leaky_relu (with StyleGAN2's gain and clamp), the fused bias_leaky_relu, softplus.
#include <algorithm>
#include <cmath>

#include "pixsyn/backend/eigen/activation.hpp"
#include "pixsyn/backend/eigen/elementwise.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn {

struct LeakyReluOptions {
  double slope = 0.2;  // for negative inputs; must be >= 0
  double gain = 1;     // multiplies the result (CIPS uses sqrt(2)); must be > 0
  double clamp = -1;   // clamps the result to [-clamp, clamp]; negative means off
};

namespace detail {
template <class T>
backend::eigen::LeakyRelu<T> leaky_relu_fn(const LeakyReluOptions& o, const char* op) {
  // The backward pass reads the slope from the sign of the output, which needs these.
  check(o.slope >= 0, op, ": slope must be >= 0, got ", o.slope);
  check(o.gain > 0, op, ": gain must be > 0, got ", o.gain);
  return backend::eigen::LeakyRelu<T>(o.slope, o.gain, o.clamp);
}

// dy/dx of leaky_relu from its output y: slope * gain, gain, or 0 where y was clamped.
template <class T>
Tensor<T, Cpu> leaky_relu_derivative(const Tensor<T, Cpu>& y, const LeakyReluOptions& o) {
  const auto f = leaky_relu_fn<T>(o, "leaky_relu");
  return backend::eigen::unary_map(y, [f](T v) { return f.derivative(v); });
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
  detail::check(axis >= -x.rank() && axis < x.rank(), "bias_leaky_relu: axis ", axis,
                " is out of range for x of shape ", x.shape());
  const int a = axis < 0 ? axis + x.rank() : axis;
  detail::check(bias.rank() == 1 && bias.dim(0) == x.dim(a), "bias_leaky_relu: bias of shape ", bias.shape(),
                " does not match axis ", axis, " of x of shape ", x.shape(), " (expected (", x.dim(a), ",))");
  return backend::eigen::bias_leaky_relu(x, bias, a, f);
}

// log(1 + exp(x)) as max(x, 0) + log1p(exp(-|x|)): no overflow for large x, no lost digits for small.
template <class T>
Tensor<T, Cpu> softplus(const Tensor<T, Cpu>& x) {
  return backend::eigen::unary_map(x, [](T v) { return std::max(v, T(0)) + std::log1p(std::exp(-std::abs(v))); });
}

}  // namespace pixsyn
