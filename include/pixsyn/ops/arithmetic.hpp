#pragma once
// add, sub, mul, div with NumPy broadcasting, scalar forms, neg, and the matching operators (Tensor).
#include "pixsyn/backend/eigen/elementwise.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn {

template <class T>
Tensor<T, Cpu> add(const Tensor<T, Cpu>& a, const Tensor<T, Cpu>& b) {
  return backend::eigen::binary_map(a, b, "add", [](T x, T y) { return x + y; });
}
template <class T>
Tensor<T, Cpu> sub(const Tensor<T, Cpu>& a, const Tensor<T, Cpu>& b) {
  return backend::eigen::binary_map(a, b, "sub", [](T x, T y) { return x - y; });
}
template <class T>
Tensor<T, Cpu> mul(const Tensor<T, Cpu>& a, const Tensor<T, Cpu>& b) {
  return backend::eigen::binary_map(a, b, "mul", [](T x, T y) { return x * y; });
}
template <class T>
Tensor<T, Cpu> div(const Tensor<T, Cpu>& a, const Tensor<T, Cpu>& b) {
  return backend::eigen::binary_map(a, b, "div", [](T x, T y) { return x / y; });
}
template <class T>
Tensor<T, Cpu> add(const Tensor<T, Cpu>& a, T s) {
  return backend::eigen::unary_map(a, [s](T x) { return x + s; });
}
template <class T>
Tensor<T, Cpu> mul(const Tensor<T, Cpu>& a, T s) {
  return backend::eigen::unary_map(a, [s](T x) { return x * s; });
}
template <class T>
Tensor<T, Cpu> div(const Tensor<T, Cpu>& a, T s) {
  return backend::eigen::unary_map(a, [s](T x) { return x / s; });
}
template <class T>
Tensor<T, Cpu> neg(const Tensor<T, Cpu>& a) {
  return backend::eigen::unary_map(a, [](T x) { return -x; });
}

template <class T, class D>
Tensor<T, D> operator+(const Tensor<T, D>& a, const Tensor<T, D>& b) {
  return add(a, b);
}
template <class T, class D>
Tensor<T, D> operator-(const Tensor<T, D>& a, const Tensor<T, D>& b) {
  return sub(a, b);
}
template <class T, class D>
Tensor<T, D> operator*(const Tensor<T, D>& a, const Tensor<T, D>& b) {
  return mul(a, b);
}
template <class T, class D>
Tensor<T, D> operator/(const Tensor<T, D>& a, const Tensor<T, D>& b) {
  return div(a, b);
}
template <class T, class D>
Tensor<T, D> operator-(const Tensor<T, D>& a) {
  return neg(a);
}
template <class T, class D>
Tensor<T, D> operator+(const Tensor<T, D>& a, std::type_identity_t<T> s) {
  return add(a, s);
}
template <class T, class D>
Tensor<T, D> operator+(std::type_identity_t<T> s, const Tensor<T, D>& a) {
  return add(a, s);
}
template <class T, class D>
Tensor<T, D> operator-(const Tensor<T, D>& a, std::type_identity_t<T> s) {
  return add(a, -s);
}
template <class T, class D>
Tensor<T, D> operator*(const Tensor<T, D>& a, std::type_identity_t<T> s) {
  return mul(a, s);
}
template <class T, class D>
Tensor<T, D> operator*(std::type_identity_t<T> s, const Tensor<T, D>& a) {
  return mul(a, s);
}
template <class T, class D>
Tensor<T, D> operator/(const Tensor<T, D>& a, std::type_identity_t<T> s) {
  return div(a, s);
}

}  // namespace pixsyn
