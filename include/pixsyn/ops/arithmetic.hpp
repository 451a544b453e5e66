#pragma once
// add, sub, mul, div with NumPy broadcasting, scalar forms, neg, and the matching operators (Tensor).
#include "pixsyn/backend/cuda/elementwise.hpp"
#include "pixsyn/backend/eigen/broadcast.hpp"
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

namespace detail {
// The broadcast geometry (shared with the CPU kernels) handed to the GPU's strided binary kernel.
template <class T>
Tensor<T, Cuda> cuda_binary(const Tensor<T, Cuda>& a, const Tensor<T, Cuda>& b, const char* op,
                            backend::cuda::Binary kind) {
  const bool same = a.shape() == b.shape();
  const Shape shape = same ? a.shape() : backend::eigen::broadcast_shapes(a.shape(), b.shape(), op);
  auto out = Tensor<T, Cuda>::empty(shape);
  backend::cuda::Strided g;
  if (!same) {
    const auto sa = backend::eigen::broadcast_strides(a.shape(), shape);
    const auto sb = backend::eigen::broadcast_strides(b.shape(), shape);
    g.rank = shape.rank();
    for (int i = 0; i < g.rank; ++i) {
      g.extent[i] = shape[i];
      g.stride_a[i] = sa[i];
      g.stride_b[i] = sb[i];
    }
  }
  backend::cuda::binary(kind, a.data(), b.data(), out.data(), out.numel(), g, same);
  return out;
}
}  // namespace detail

template <class T>
Tensor<T, Cuda> add(const Tensor<T, Cuda>& a, const Tensor<T, Cuda>& b) {
  return detail::cuda_binary(a, b, "add", backend::cuda::Binary::add);
}
template <class T>
Tensor<T, Cuda> sub(const Tensor<T, Cuda>& a, const Tensor<T, Cuda>& b) {
  return detail::cuda_binary(a, b, "sub", backend::cuda::Binary::sub);
}
template <class T>
Tensor<T, Cuda> mul(const Tensor<T, Cuda>& a, const Tensor<T, Cuda>& b) {
  return detail::cuda_binary(a, b, "mul", backend::cuda::Binary::mul);
}
template <class T>
Tensor<T, Cuda> div(const Tensor<T, Cuda>& a, const Tensor<T, Cuda>& b) {
  return detail::cuda_binary(a, b, "div", backend::cuda::Binary::div);
}
template <class T>
Tensor<T, Cuda> add(const Tensor<T, Cuda>& a, T s) {
  return backend::cuda::unary_map(a, backend::cuda::Unary::add_scalar, {.a = static_cast<double>(s)});
}
template <class T>
Tensor<T, Cuda> mul(const Tensor<T, Cuda>& a, T s) {
  return backend::cuda::unary_map(a, backend::cuda::Unary::mul_scalar, {.a = static_cast<double>(s)});
}
template <class T>
Tensor<T, Cuda> div(const Tensor<T, Cuda>& a, T s) {
  return backend::cuda::unary_map(a, backend::cuda::Unary::div_scalar, {.a = static_cast<double>(s)});
}
template <class T>
Tensor<T, Cuda> neg(const Tensor<T, Cuda>& a) {
  return backend::cuda::unary_map(a, backend::cuda::Unary::neg);
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
