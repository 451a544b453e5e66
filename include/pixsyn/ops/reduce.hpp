#pragma once
// sum, mean over axes (keepdim), and sum_to (the adjoint of broadcasting) on Tensor (CPU and CUDA).
#include <array>
#include <vector>

#include "pixsyn/backend/cuda/reduce.hpp"
#include "pixsyn/backend/eigen/reduce.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn {

using Axes = std::vector<int>;

namespace detail {
// Flags for the reduced axes (all when `axes` is empty), with duplicate/range checks.
inline std::array<bool, max_rank> reduced_axes(const Shape& shape, const Axes& axes, const char* op) {
  std::array<bool, max_rank> flags{};
  if (axes.empty()) {
    for (int a = 0; a < shape.rank(); ++a) flags[a] = true;
    return flags;
  }
  for (int a : axes) {
    const int r = shape.axis(a);
    check(!flags[r], op, ": axis ", a, " is listed twice for shape ", shape);
    flags[r] = true;
  }
  return flags;
}
inline Shape reduced_shape(const Shape& shape, const std::array<bool, max_rank>& flags, bool keepdim) {
  Shape out;
  for (int a = 0; a < shape.rank(); ++a) {
    if (!flags[a])
      out.push_back(shape[a]);
    else if (keepdim)
      out.push_back(1);
  }
  return out;
}
// The axes along which `from` was broadcast to reach `to` (the axes sum_to reduces).
inline std::array<bool, max_rank> sum_to_axes(const Shape& from, const Shape& to) {
  check(from.rank() >= to.rank(), "sum_to: cannot reduce shape ", from, " to the larger rank of ", to);
  for (int i = 0; i < to.rank(); ++i) {
    const auto ef = from[from.rank() - to.rank() + i], et = to[i];
    check(et == ef || et == 1, "sum_to: shape ", from, " does not broadcast from ", to);
  }
  std::array<bool, max_rank> flags{};
  const int lead = from.rank() - to.rank();
  for (int a = 0; a < from.rank(); ++a) flags[a] = a < lead || to[a - lead] == 1;
  return flags;
}
// How many elements each output of a mean averages.
inline std::int64_t mean_count(const Shape& shape, const std::array<bool, max_rank>& flags) {
  std::int64_t count = 1;
  for (int a = 0; a < shape.rank(); ++a)
    if (flags[a]) count *= shape[a];
  check(count > 0, "mean: cannot average over empty axes of shape ", shape);
  return count;
}
}  // namespace detail

// Sum over `axes` (every axis when empty); keepdim keeps reduced axes as extent 1.
template <class T>
Tensor<T, Cpu> sum(const Tensor<T, Cpu>& x, const Axes& axes = {}, bool keepdim = false) {
  const auto flags = detail::reduced_axes(x.shape(), axes, "sum");
  return backend::eigen::sum_keepdim(x, flags).reshape(detail::reduced_shape(x.shape(), flags, keepdim));
}

template <class T>
Tensor<T, Cpu> mean(const Tensor<T, Cpu>& x, const Axes& axes = {}, bool keepdim = false) {
  const auto flags = detail::reduced_axes(x.shape(), axes, "mean");
  const std::int64_t count = detail::mean_count(x.shape(), flags);
  auto s = sum(x, axes, keepdim);
  const T scale = T(1) / static_cast<T>(count);
  for (std::int64_t i = 0; i < s.numel(); ++i) s.data()[i] *= scale;
  return s;
}

// Sums `x` down to `shape`, undoing a broadcast from `shape` to x.shape().
template <class T>
Tensor<T, Cpu> sum_to(const Tensor<T, Cpu>& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  return backend::eigen::sum_keepdim(x, detail::sum_to_axes(x.shape(), shape)).reshape(shape);
}

template <class T>
Tensor<T, Cuda> sum(const Tensor<T, Cuda>& x, const Axes& axes = {}, bool keepdim = false) {
  const auto flags = detail::reduced_axes(x.shape(), axes, "sum");
  return backend::cuda::sum_keepdim(x, flags).reshape(detail::reduced_shape(x.shape(), flags, keepdim));
}

// The sum and the scaling by 1/count in one pass, rounded as on the CPU.
template <class T>
Tensor<T, Cuda> mean(const Tensor<T, Cuda>& x, const Axes& axes = {}, bool keepdim = false) {
  const auto flags = detail::reduced_axes(x.shape(), axes, "mean");
  const T scale = T(1) / static_cast<T>(detail::mean_count(x.shape(), flags));
  return backend::cuda::sum_keepdim(x, flags, scale).reshape(detail::reduced_shape(x.shape(), flags, keepdim));
}

template <class T>
Tensor<T, Cuda> sum_to(const Tensor<T, Cuda>& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  return backend::cuda::sum_keepdim(x, detail::sum_to_axes(x.shape(), shape)).reshape(shape);
}

}  // namespace pixsyn
