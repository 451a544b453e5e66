#pragma once
// Elementwise kernels on the CPU: unary maps and broadcasting binary maps.
#include <cstdint>

#include "pixsyn/backend/eigen/broadcast.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::backend::eigen {

// Work below this many elements stays on one thread: OpenMP start-up costs more than it saves.
inline constexpr std::int64_t parallel_grain = 1 << 15;

template <class T, class F>
Tensor<T, Cpu> unary_map(const Tensor<T, Cpu>& x, F f) {
  auto out = Tensor<T, Cpu>::empty(x.shape());
  const T* in = x.data();
  T* o = out.data();
  const std::int64_t n = x.numel();
#pragma omp parallel for if (n > parallel_grain)
  for (std::int64_t i = 0; i < n; ++i) o[i] = f(in[i]);
  return out;
}

template <class T, class F>
Tensor<T, Cpu> binary_map(const Tensor<T, Cpu>& a, const Tensor<T, Cpu>& b, const char* op, F f) {
  const T* pa = a.data();
  const T* pb = b.data();
  if (a.shape() == b.shape()) {
    auto out = Tensor<T, Cpu>::empty(a.shape());
    T* o = out.data();
    const std::int64_t n = a.numel();
#pragma omp parallel for if (n > parallel_grain)
    for (std::int64_t i = 0; i < n; ++i) o[i] = f(pa[i], pb[i]);
    return out;
  }
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  auto out = Tensor<T, Cpu>::empty(shape);
  T* o = out.data();
  if (b.numel() == 1) {
    const T s = pb[0];
    const std::int64_t n = out.numel();
#pragma omp parallel for if (n > parallel_grain)
    for (std::int64_t i = 0; i < n; ++i) o[i] = f(pa[i], s);
    return out;
  }
  for_each_broadcast(shape, broadcast_strides(a.shape(), shape), broadcast_strides(b.shape(), shape),
                     [&](std::int64_t i, std::int64_t ia, std::int64_t ib) { o[i] = f(pa[ia], pb[ib]); });
  return out;
}

}  // namespace pixsyn::backend::eigen
