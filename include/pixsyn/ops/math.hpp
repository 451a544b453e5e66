#pragma once
// Unary math on Tensor: exp, log, sqrt, rsqrt, square, abs, sin, cos, sigmoid (CPU and CUDA).
// Kernels call std:: functions explicitly: inside namespace pixsyn these names mean the tensor ops.
#include <cmath>

#include "pixsyn/backend/cuda/elementwise.hpp"
#include "pixsyn/backend/eigen/elementwise.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn {

template <class T>
Tensor<T, Cpu> exp(const Tensor<T, Cpu>& x) {
  return backend::eigen::unary_map(x, [](T v) { return std::exp(v); });
}
template <class T>
Tensor<T, Cpu> log(const Tensor<T, Cpu>& x) {
  return backend::eigen::unary_map(x, [](T v) { return std::log(v); });
}
template <class T>
Tensor<T, Cpu> sqrt(const Tensor<T, Cpu>& x) {
  return backend::eigen::unary_map(x, [](T v) { return std::sqrt(v); });
}
template <class T>
Tensor<T, Cpu> rsqrt(const Tensor<T, Cpu>& x) {
  return backend::eigen::unary_map(x, [](T v) { return T(1) / std::sqrt(v); });
}
template <class T>
Tensor<T, Cpu> square(const Tensor<T, Cpu>& x) {
  return backend::eigen::unary_map(x, [](T v) { return v * v; });
}
template <class T>
Tensor<T, Cpu> abs(const Tensor<T, Cpu>& x) {
  return backend::eigen::unary_map(x, [](T v) { return std::abs(v); });
}
template <class T>
Tensor<T, Cpu> sin(const Tensor<T, Cpu>& x) {
  return backend::eigen::unary_map(x, [](T v) { return std::sin(v); });
}
template <class T>
Tensor<T, Cpu> cos(const Tensor<T, Cpu>& x) {
  return backend::eigen::unary_map(x, [](T v) { return std::cos(v); });
}
// 1 / (1 + exp(-x)), evaluated so that exp never overflows.
template <class T>
Tensor<T, Cpu> sigmoid(const Tensor<T, Cpu>& x) {
  return backend::eigen::unary_map(x, [](T v) {
    if (v >= 0) return T(1) / (T(1) + std::exp(-v));
    const T e = std::exp(v);
    return e / (T(1) + e);
  });
}

namespace detail {
// -1, 0 or 1: the derivative of abs, used as a constant in its backward.
template <class T>
Tensor<T, Cpu> sign(const Tensor<T, Cpu>& x) {
  return backend::eigen::unary_map(x, [](T v) { return static_cast<T>((v > T(0)) - (v < T(0))); });
}
template <class T>
Tensor<T, Cuda> sign(const Tensor<T, Cuda>& x) {
  return backend::cuda::unary_map(x, backend::cuda::Unary::sign);
}
}  // namespace detail

// The GPU versions use the same formulas (sigmoid split at 0, rsqrt as 1 / sqrt).
#define PIXSYN_CUDA_UNARY(name)                                     \
  template <class T>                                                \
  Tensor<T, Cuda> name(const Tensor<T, Cuda>& x) {                  \
    return backend::cuda::unary_map(x, backend::cuda::Unary::name); \
  }
PIXSYN_CUDA_UNARY(exp)
PIXSYN_CUDA_UNARY(log)
PIXSYN_CUDA_UNARY(sqrt)
PIXSYN_CUDA_UNARY(rsqrt)
PIXSYN_CUDA_UNARY(square)
PIXSYN_CUDA_UNARY(abs)
PIXSYN_CUDA_UNARY(sin)
PIXSYN_CUDA_UNARY(cos)
PIXSYN_CUDA_UNARY(sigmoid)
#undef PIXSYN_CUDA_UNARY

}  // namespace pixsyn
