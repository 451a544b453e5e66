#pragma once
// Sum over a set of axes on the CPU. Accumulates in double so float sums of large images stay accurate.
#include <array>
#include <cstdint>
#include <vector>

#include "pixsyn/backend/eigen/broadcast.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::backend::eigen {

// Sums `x` over the axes flagged in `reduce`; the result keeps rank (reduced extents become 1).
template <class T>
Tensor<T, Cpu> sum_keepdim(const Tensor<T, Cpu>& x, const std::array<bool, max_rank>& reduce) {
  Shape kept;
  for (int a = 0; a < x.rank(); ++a) kept.push_back(reduce[a] ? 1 : x.dim(a));
  const std::int64_t n_out = kept.numel();
  std::vector<double> acc(static_cast<std::size_t>(n_out), 0.0);
  const T* in = x.data();
  const std::int64_t n = x.numel();
  const std::int64_t inner = n_out == 0 ? 0 : n / n_out;
  // Fast path: the reduced axes are exactly the trailing ones (rows of a matrix).
  bool trailing = true, seen_reduced = false;
  for (int a = 0; a < x.rank(); ++a) {
    if (reduce[a] && x.dim(a) != 1) seen_reduced = true;
    if (!reduce[a] && x.dim(a) != 1 && seen_reduced) trailing = false;
  }
  if (trailing) {
#pragma omp parallel for if (n > (1 << 15))
    for (std::int64_t o = 0; o < n_out; ++o) {
      double s = 0;
      for (std::int64_t i = 0; i < inner; ++i) s += in[o * inner + i];
      acc[o] = s;
    }
  } else {
    for_each_broadcast(x.shape(), x.shape().strides(), broadcast_strides(kept, x.shape()),
                       [&](std::int64_t, std::int64_t ia, std::int64_t io) { acc[io] += in[ia]; });
  }
  auto out = Tensor<T, Cpu>::empty(kept);
  for (std::int64_t o = 0; o < n_out; ++o) out.data()[o] = static_cast<T>(acc[o]);
  return out;
}

// Copies `x` into the larger shape `shape` it broadcasts to.
template <class T>
Tensor<T, Cpu> broadcast_to(const Tensor<T, Cpu>& x, const Shape& shape) {
  const Shape out_shape = broadcast_shapes(x.shape(), shape, "broadcast_to");
  pixsyn::detail::check(out_shape == shape, "broadcast_to: shape ", x.shape(), " cannot be broadcast to ", shape);
  auto out = Tensor<T, Cpu>::empty(shape);
  const T* in = x.data();
  T* o = out.data();
  const auto zero = std::array<std::int64_t, max_rank>{};
  for_each_broadcast(shape, broadcast_strides(x.shape(), shape), zero,
                     [&](std::int64_t i, std::int64_t ia, std::int64_t) { o[i] = in[ia]; });
  return out;
}

}  // namespace pixsyn::backend::eigen
