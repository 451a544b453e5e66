#pragma once
// exp, log, sqrt, rsqrt, square, abs, sin, cos, sigmoid on Var, with backward rules written in Var ops.
#include "pixsyn/autograd/functions/arithmetic.hpp"
#include "pixsyn/autograd/var.hpp"
#include "pixsyn/ops/math.hpp"

namespace pixsyn {

template <class T, class D>
Var<T, D> exp(const Var<T, D>& x) {
  return autograd::detail::record<T, D>(
      "exp", exp(x.value()), {x},
      [](const Var<T, D>& g, const auto&, const auto& out) { return std::vector<Var<T, D>>{mul(g, out)}; });
}

template <class T, class D>
Var<T, D> log(const Var<T, D>& x) {
  return autograd::detail::record<T, D>(
      "log", log(x.value()), {x},
      [](const Var<T, D>& g, const auto& in, const auto&) { return std::vector<Var<T, D>>{div(g, in[0])}; });
}

template <class T, class D>
Var<T, D> sqrt(const Var<T, D>& x) {
  return autograd::detail::record<T, D>("sqrt", sqrt(x.value()), {x},
                                        [](const Var<T, D>& g, const auto&, const auto& out) {
                                          return std::vector<Var<T, D>>{mul(div(g, out), T(0.5))};
                                        });
}

template <class T, class D>
Var<T, D> rsqrt(const Var<T, D>& x) {
  return autograd::detail::record<T, D>("rsqrt", rsqrt(x.value()), {x},
                                        [](const Var<T, D>& g, const auto&, const auto& out) {
                                          return std::vector<Var<T, D>>{mul(mul(g, mul(out, mul(out, out))), T(-0.5))};
                                        });
}

template <class T, class D>
Var<T, D> square(const Var<T, D>& x) {
  return autograd::detail::record<T, D>(
      "square", square(x.value()), {x},
      [](const Var<T, D>& g, const auto& in, const auto&) { return std::vector<Var<T, D>>{mul(mul(g, in[0]), T(2))}; });
}

// The sign of x is piecewise constant, so a constant mask is exact to every order away from 0.
template <class T, class D>
Var<T, D> abs(const Var<T, D>& x) {
  return autograd::detail::record<T, D>("abs", abs(x.value()), {x},
                                        [](const Var<T, D>& g, const auto& in, const auto&) {
                                          return std::vector<Var<T, D>>{mul(g, Var<T, D>(detail::sign(in[0].value())))};
                                        });
}

template <class T, class D>
Var<T, D> cos(const Var<T, D>& x);

template <class T, class D>
Var<T, D> sin(const Var<T, D>& x) {
  return autograd::detail::record<T, D>(
      "sin", sin(x.value()), {x},
      [](const Var<T, D>& g, const auto& in, const auto&) { return std::vector<Var<T, D>>{mul(g, cos(in[0]))}; });
}

template <class T, class D>
Var<T, D> cos(const Var<T, D>& x) {
  return autograd::detail::record<T, D>(
      "cos", cos(x.value()), {x},
      [](const Var<T, D>& g, const auto& in, const auto&) { return std::vector<Var<T, D>>{neg(mul(g, sin(in[0])))}; });
}

template <class T, class D>
Var<T, D> sigmoid(const Var<T, D>& x) {
  return autograd::detail::record<T, D>("sigmoid", sigmoid(x.value()), {x},
                                        [](const Var<T, D>& g, const auto&, const auto& out) {
                                          return std::vector<Var<T, D>>{mul(mul(g, out), add(neg(out), T(1)))};
                                        });
}

}  // namespace pixsyn
