#pragma once
// leaky_relu, bias_leaky_relu and softplus on Var. The leaky-relu backward multiplies by a constant
// slope mask: the mask is piecewise constant, so this is exact to second order away from the kinks.
#include "pixsyn/autograd/functions/arithmetic.hpp"
#include "pixsyn/autograd/functions/math.hpp"
#include "pixsyn/autograd/functions/reduce.hpp"
#include "pixsyn/autograd/var.hpp"
#include "pixsyn/ops/activation.hpp"

namespace pixsyn {

template <class T, class D>
Var<T, D> leaky_relu(const Var<T, D>& x, const LeakyReluOptions& options = {}) {
  return autograd::detail::record<T, D>(
      "leaky_relu", leaky_relu(x.value(), options), {x}, [options](const Var<T, D>& g, const auto&, const auto& out) {
        return std::vector<Var<T, D>>{mul(g, Var<T, D>(detail::leaky_relu_derivative(out.value(), options)))};
      });
}

template <class T, class D>
Var<T, D> bias_leaky_relu(const Var<T, D>& x, const Var<T, D>& bias, int axis, const LeakyReluOptions& options = {}) {
  auto y = bias_leaky_relu(x.value(), bias.value(), axis, options);
  Axes others;  // the bias gradient sums over every axis but `axis`
  for (int a = 0; a < x.rank(); ++a)
    if (a != (axis < 0 ? axis + x.rank() : axis)) others.push_back(a);
  return autograd::detail::record<T, D>(
      "bias_leaky_relu", std::move(y), {x, bias},
      [options, others](const Var<T, D>& g, const auto& in, const auto& out) {
        const auto dx = mul(g, Var<T, D>(detail::leaky_relu_derivative(out.value(), options)));
        return std::vector<Var<T, D>>{in[0].requires_grad() ? dx : Var<T, D>(), !in[1].requires_grad() ? Var<T, D>()
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
