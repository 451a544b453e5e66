#pragma once
// leaky_relu, bias_leaky_relu, their backward leaky_relu_backward and softplus on Var. The leaky-relu backward
// multiplies by a constant slope mask: the mask is piecewise constant, so this is exact to second order away from
// the kinks.
#include "pixsyn/autograd/functions/arithmetic.hpp"
#include "pixsyn/autograd/functions/math.hpp"
#include "pixsyn/autograd/functions/reduce.hpp"
#include "pixsyn/autograd/var.hpp"
#include "pixsyn/ops/activation.hpp"

namespace pixsyn {

// g · dy/dx of a leaky ReLU with output y, in one pass (ops/activation.hpp). y is a constant: the slope mask it
// selects is piecewise constant, so its derivative is zero away from the kinks. The op is linear in g, and its own
// backward is itself: a backward pass through it (R1) runs the fused op again.
template <class T, class D>
Var<T, D> leaky_relu_backward(const Var<T, D>& g, const Tensor<T, D>& y, const LeakyReluOptions& options = {}) {
  return autograd::detail::record<T, D>(
      "leaky_relu_backward", leaky_relu_backward(g.value(), y, options), {g, Var<T, D>::constant(y)},
      [options](const Var<T, D>& gg, const auto& in, const auto&) {
        return std::vector<Var<T, D>>{leaky_relu_backward(gg, in[1].value(), options), Var<T, D>()};
      });
}

template <class T, class D>
Var<T, D> leaky_relu(const Var<T, D>& x, const LeakyReluOptions& options = {}) {
  return autograd::detail::record<T, D>("leaky_relu", leaky_relu(x.value(), options), {x},
                                        [options](const Var<T, D>& g, const auto&, const auto& out) {
                                          return std::vector<Var<T, D>>{leaky_relu_backward(g, out.value(), options)};
                                        });
}

template <class T, class D>
Var<T, D> bias_leaky_relu(const Var<T, D>& x, const Var<T, D>& bias, int axis, const LeakyReluOptions& options = {}) {
  auto y = bias_leaky_relu(x.value(), bias.value(), axis, options);
  Axes others;  // the bias gradient sums over every axis but `axis`
  for (int a = 0; a < x.rank(); ++a)
    if (a != (axis < 0 ? axis + x.rank() : axis)) others.push_back(a);
  return autograd::detail::record<T, D>("bias_leaky_relu", std::move(y), {x, bias},
                                        [options, others](const Var<T, D>& g, const auto& in, const auto& out) {
                                          const auto dx = leaky_relu_backward(g, out.value(), options);
                                          return std::vector<Var<T, D>>{in[0].requires_grad() ? dx : Var<T, D>(),
                                                                        !in[1].requires_grad() ? Var<T, D>()
                                                                        : others.empty()       ? dx
                                                                                               : sum(dx, others)};
                                        });
}

template <class T, class D>
Var<T, D> softplus(const Var<T, D>& x) {
  return autograd::detail::record<T, D>(
      "softplus", softplus(x.value()), {x},
      [](const Var<T, D>& g, const auto& in, const auto&) { return std::vector<Var<T, D>>{mul(g, sigmoid(in[0]))}; });
}

}  // namespace pixsyn
