#pragma once
// Layout ops on Tensor (CPU and CUDA): concat, slice and its adjoint pad_slice, index_select and its adjoint
// index_add, clamp, floor. Axes may be negative (counted from the end).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "pixsyn/backend/cuda/elementwise.hpp"
#include "pixsyn/backend/cuda/layout.hpp"
#include "pixsyn/backend/eigen/elementwise.hpp"
#include "pixsyn/backend/eigen/layout.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn {

namespace detail {

inline Shape with_extent(Shape shape, int axis, std::int64_t extent) {
  shape[axis] = extent;
  return shape;
}

// The axis index (negative counts from the end), with an error naming the op.
inline int resolve_axis(const Shape& shape, int axis, const char* op) {
  check(axis >= -shape.rank() && axis < shape.rank(), op, ": axis ", axis, " is out of range for shape ", shape);
  return shape.axis(axis);
}

struct SliceRange {
  int axis;
  std::int64_t start, stop;
};

// Python-style half-open range with negative indices counted from the end; unlike Python, a range
// that does not fit the axis is an error, never silently shortened.
inline SliceRange resolve_slice(const Shape& shape, int axis, std::int64_t start, std::int64_t stop) {
  const int a = resolve_axis(shape, axis, "slice");
  const std::int64_t n = shape[a];
  const std::int64_t s = start < 0 ? start + n : start, e = stop < 0 ? stop + n : stop;
  check(s >= 0 && e <= n && s <= e, "slice: range [", start, ", ", stop, ") is out of range for axis ", axis,
        " of extent ", n, " in shape ", shape);
  return {a, s, e};
}

// Where pad_slice puts g: [start, start + g's extent) along the axis, a negative start counting from
// the end of the full extent.
inline SliceRange resolve_pad(const Shape& g, int axis, std::int64_t start, std::int64_t full_extent) {
  const int a = resolve_axis(g, axis, "pad_slice");
  const std::int64_t s = start < 0 ? start + full_extent : start, count = g[a];
  check(s >= 0 && s + count <= full_extent, "pad_slice: ", count, " entries at start ", start,
        " do not fit an axis of extent ", full_extent, " (axis ", axis, " of shape ", g, ")");
  return {a, s, s + count};
}

// Every index entry must address an element of an axis of `extent`.
inline void check_index(const Tensor<std::int64_t, Cpu>& index, std::int64_t extent, const Shape& shape, int axis,
                        const char* op) {
  check(index.rank() == 1, op, ": the index must be 1-D, got shape ", index.shape());
  const std::int64_t* idx = index.data();
  for (std::int64_t i = 0; i < index.numel(); ++i)
    check(idx[i] >= 0 && idx[i] < extent, op, ": index[", i, "] = ", idx[i], " is out of range [0, ", extent,
          ") for axis ", axis, " of shape ", shape);
}

// The resolved axis of a concat and the joined shape; all other extents must agree.
template <class T, class D>
std::pair<int, Shape> concat_shape(const std::vector<Tensor<T, D>>& parts, int axis) {
  check(!parts.empty(), "concat: no tensors to join");
  const Shape& first = parts[0].shape();
  const int a = resolve_axis(first, axis, "concat");
  std::int64_t total = 0;
  for (std::size_t k = 0; k < parts.size(); ++k) {
    const Shape& s = parts[k].shape();
    check(s.rank() == first.rank() && with_extent(s, a, 0) == with_extent(first, a, 0), "concat: part ", k,
          " has shape ", s, " but part 0 has shape ", first, "; extents must match except along axis ", axis);
    total += s[a];
  }
  return {a, with_extent(first, a, total)};
}

// copy_rows of D's backend (the CUDA one runs on the context's stream).
template <class D, class... Args>
void copy_rows(Args... args) {
  if constexpr (std::is_same_v<D, Cuda>)
    backend::cuda::copy_rows(args...);
  else
    backend::eigen::copy_rows(args...);
}

// The (host-checked) index where D's gather/scatter kernels read it: itself on the CPU, a copy on the GPU.
template <class D>
Tensor<std::int64_t, D> index_on(const Tensor<std::int64_t, Cpu>& index) {
  if constexpr (std::is_same_v<D, Cuda>)
    return to_device(index);
  else
    return index;
}

// clamp's gradient mask: 1 where lo < x < hi, else 0.
template <class T>
Tensor<T, Cpu> clamp_mask(const Tensor<T, Cpu>& x, T lo, T hi) {
  return backend::eigen::unary_map(x, [lo, hi](T v) { return lo < v && v < hi ? T(1) : T(0); });
}
template <class T>
Tensor<T, Cuda> clamp_mask(const Tensor<T, Cuda>& x, T lo, T hi) {
  return backend::cuda::unary_map(x, backend::cuda::Unary::clamp_mask,
                                  {.a = static_cast<double>(lo), .b = static_cast<double>(hi)});
}

}  // namespace detail

// Joins tensors along `axis`; all other extents must agree.
template <class T, class D>
Tensor<T, D> concat(const std::vector<Tensor<T, D>>& parts, int axis) {
  const auto [a, shape] = detail::concat_shape(parts, axis);
  auto out = Tensor<T, D>::empty(shape);
  const auto split = backend::eigen::split_axis(shape, a);
  std::int64_t offset = 0;
  for (const auto& p : parts) {
    detail::copy_rows<D>(p.data(), p.dim(a), 0, out.data(), split.extent, offset, split.outer, p.dim(a), split.inner);
    offset += p.dim(a);
  }
  return out;
}

// Entries [start, stop) along `axis`, as a copy.
template <class T, class D>
Tensor<T, D> slice(const Tensor<T, D>& x, int axis, std::int64_t start, std::int64_t stop) {
  const auto r = detail::resolve_slice(x.shape(), axis, start, stop);
  auto out = Tensor<T, D>::empty(detail::with_extent(x.shape(), r.axis, r.stop - r.start));
  const auto split = backend::eigen::split_axis(x.shape(), r.axis);
  detail::copy_rows<D>(x.data(), split.extent, r.start, out.data(), r.stop - r.start, 0, split.outer, r.stop - r.start,
                       split.inner);
  return out;
}

// The adjoint of slice: g placed at [start, start + g.dim(axis)) along `axis` of a zero tensor whose
// extent there is `full_extent`. A negative start counts from the end of the full extent.
template <class T, class D>
Tensor<T, D> pad_slice(const Tensor<T, D>& g, int axis, std::int64_t start, std::int64_t full_extent) {
  const auto r = detail::resolve_pad(g.shape(), axis, start, full_extent);
  Tensor<T, D> out(detail::with_extent(g.shape(), r.axis, full_extent));
  const auto split = backend::eigen::split_axis(g.shape(), r.axis);
  detail::copy_rows<D>(g.data(), split.extent, 0, out.data(), full_extent, r.start, split.outer, split.extent,
                       split.inner);
  return out;
}

// Entries index[0], index[1], ... along `axis` (a gather); index is 1-D and may repeat entries. The
// index is a CPU tensor on every device: it is checked on the host.
template <class T, class D>
Tensor<T, D> index_select(const Tensor<T, D>& x, int axis, const Tensor<std::int64_t, Cpu>& index) {
  const int a = detail::resolve_axis(x.shape(), axis, "index_select");
  detail::check_index(index, x.dim(a), x.shape(), axis, "index_select");
  auto out = Tensor<T, D>::empty(detail::with_extent(x.shape(), a, index.numel()));
  const auto split = backend::eigen::split_axis(x.shape(), a);
  const auto idx = detail::index_on<D>(index);
  if constexpr (std::is_same_v<D, Cuda>)
    backend::cuda::gather_rows(x.data(), split.extent, idx.data(), index.numel(), out.data(), split.outer, split.inner);
  else
    backend::eigen::gather_rows(x.data(), split.extent, idx.data(), index.numel(), out.data(), split.outer,
                                split.inner);
  return out;
}

// The adjoint of index_select: a zero tensor with `extent` entries along `axis`, to which g's entry i
// is added at position index[i] (repeated indices accumulate).
template <class T, class D>
Tensor<T, D> index_add(const Tensor<T, D>& g, int axis, const Tensor<std::int64_t, Cpu>& index, std::int64_t extent) {
  const int a = detail::resolve_axis(g.shape(), axis, "index_add");
  detail::check(index.rank() == 1 && index.numel() == g.dim(a), "index_add: index of shape ", index.shape(),
                " does not match axis ", axis, " of shape ", g.shape());
  detail::check_index(index, extent, detail::with_extent(g.shape(), a, extent), axis, "index_add");
  Tensor<T, D> out(detail::with_extent(g.shape(), a, extent));
  const auto split = backend::eigen::split_axis(g.shape(), a);
  const auto idx = detail::index_on<D>(index);
  if constexpr (std::is_same_v<D, Cuda>)
    backend::cuda::scatter_add_rows(g.data(), idx.data(), index.numel(), out.data(), extent, split.outer, split.inner);
  else
    backend::eigen::scatter_add_rows(g.data(), idx.data(), index.numel(), out.data(), extent, split.outer, split.inner);
  return out;
}

template <class T>
Tensor<T, Cpu> clamp(const Tensor<T, Cpu>& x, std::type_identity_t<T> lo, std::type_identity_t<T> hi) {
  detail::check(lo <= hi, "clamp: lower bound ", lo, " exceeds upper bound ", hi);
  return backend::eigen::unary_map(x, [lo, hi](T v) { return std::clamp(v, lo, hi); });
}

template <class T>
Tensor<T, Cpu> floor(const Tensor<T, Cpu>& x) {
  return backend::eigen::unary_map(x, [](T v) { return std::floor(v); });
}

template <class T>
Tensor<T, Cuda> clamp(const Tensor<T, Cuda>& x, std::type_identity_t<T> lo, std::type_identity_t<T> hi) {
  detail::check(lo <= hi, "clamp: lower bound ", lo, " exceeds upper bound ", hi);
  return backend::cuda::unary_map(x, backend::cuda::Unary::clamp,
                                  {.a = static_cast<double>(lo), .b = static_cast<double>(hi)});
}

template <class T>
Tensor<T, Cuda> floor(const Tensor<T, Cuda>& x) {
  return backend::cuda::unary_map(x, backend::cuda::Unary::floor);
}

}  // namespace pixsyn
