#pragma once
// add, sub, mul, div, scalar forms and neg on Var, with backward rules written in Var ops.
#include "pixsyn/autograd/functions/reduce.hpp"
#include "pixsyn/autograd/var.hpp"
#include "pixsyn/ops/arithmetic.hpp"

namespace pixsyn {

template <class T, class D>
Var<T, D> add(const Var<T, D>& a, const Var<T, D>& b) {
  return autograd::detail::record<T, D>(
      "add", add(a.value(), b.value()), {a, b}, [](const Var<T, D>& g, const auto& in, const auto&) {
        return std::vector<Var<T, D>>{in[0].requires_grad() ? sum_to(g, in[0].shape()) : Var<T, D>(),
                                      in[1].requires_grad() ? sum_to(g, in[1].shape()) : Var<T, D>()};
      });
}

template <class T, class D>
Var<T, D> sub(const Var<T, D>& a, const Var<T, D>& b) {
  return autograd::detail::record<T, D>(
      "sub", sub(a.value(), b.value()), {a, b}, [](const Var<T, D>& g, const auto& in, const auto&) {
        return std::vector<Var<T, D>>{in[0].requires_grad() ? sum_to(g, in[0].shape()) : Var<T, D>(),
                                      in[1].requires_grad() ? sum_to(neg(g), in[1].shape()) : Var<T, D>()};
      });
}

template <class T, class D>
Var<T, D> mul(const Var<T, D>& a, const Var<T, D>& b) {
  return autograd::detail::record<T, D>(
      "mul", mul(a.value(), b.value()), {a, b}, [](const Var<T, D>& g, const auto& in, const auto&) {
        return std::vector<Var<T, D>>{in[0].requires_grad() ? sum_to(mul(g, in[1]), in[0].shape()) : Var<T, D>(),
                                      in[1].requires_grad() ? sum_to(mul(g, in[0]), in[1].shape()) : Var<T, D>()};
      });
}

template <class T, class D>
Var<T, D> div(const Var<T, D>& a, const Var<T, D>& b) {
  return autograd::detail::record<T, D>(
      "div", div(a.value(), b.value()), {a, b}, [](const Var<T, D>& g, const auto& in, const auto& out) {
        return std::vector<Var<T, D>>{
            in[0].requires_grad() ? sum_to(div(g, in[1]), in[0].shape()) : Var<T, D>(),
            in[1].requires_grad() ? sum_to(neg(div(mul(g, out), in[1])), in[1].shape()) : Var<T, D>()};
      });
}

template <class T, class D>
Var<T, D> add(const Var<T, D>& a, T s) {
  return autograd::detail::record<T, D>(
      "add_scalar", add(a.value(), s), {a},
      [](const Var<T, D>& g, const auto&, const auto&) { return std::vector<Var<T, D>>{g}; });
}

template <class T, class D>
Var<T, D> mul(const Var<T, D>& a, T s) {
  return autograd::detail::record<T, D>(
      "mul_scalar", mul(a.value(), s), {a},
      [s](const Var<T, D>& g, const auto&, const auto&) { return std::vector<Var<T, D>>{mul(g, s)}; });
}

template <class T, class D>
Var<T, D> div(const Var<T, D>& a, T s) {
  return autograd::detail::record<T, D>(
      "div_scalar", div(a.value(), s), {a},
      [s](const Var<T, D>& g, const auto&, const auto&) { return std::vector<Var<T, D>>{div(g, s)}; });
}

template <class T, class D>
Var<T, D> neg(const Var<T, D>& a) {
  return autograd::detail::record<T, D>("neg", neg(a.value()), {a}, [](const Var<T, D>& g, const auto&, const auto&) {
    return std::vector<Var<T, D>>{neg(g)};
  });
}

template <class T, class D>
Var<T, D> operator+(const Var<T, D>& a, const Var<T, D>& b) {
  return add(a, b);
}
template <class T, class D>
Var<T, D> operator-(const Var<T, D>& a, const Var<T, D>& b) {
  return sub(a, b);
}
template <class T, class D>
Var<T, D> operator*(const Var<T, D>& a, const Var<T, D>& b) {
  return mul(a, b);
}
template <class T, class D>
Var<T, D> operator/(const Var<T, D>& a, const Var<T, D>& b) {
  return div(a, b);
}
template <class T, class D>
Var<T, D> operator-(const Var<T, D>& a) {
  return neg(a);
}
template <class T, class D>
Var<T, D> operator+(const Var<T, D>& a, std::type_identity_t<T> s) {
  return add(a, s);
}
template <class T, class D>
Var<T, D> operator+(std::type_identity_t<T> s, const Var<T, D>& a) {
  return add(a, s);
}
template <class T, class D>
Var<T, D> operator-(const Var<T, D>& a, std::type_identity_t<T> s) {
  return add(a, -s);
}
template <class T, class D>
Var<T, D> operator*(const Var<T, D>& a, std::type_identity_t<T> s) {
  return mul(a, s);
}
template <class T, class D>
Var<T, D> operator*(std::type_identity_t<T> s, const Var<T, D>& a) {
  return mul(a, s);
}
template <class T, class D>
Var<T, D> operator/(const Var<T, D>& a, std::type_identity_t<T> s) {
  return div(a, s);
}

}  // namespace pixsyn
