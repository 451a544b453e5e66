#pragma once
// Copies of row blocks along one axis on the CPU: the kernels behind concat, slice, pad_slice,
// index_select and index_add. A tensor is viewed as (outer, extent, inner) around the axis.
#include <algorithm>
#include <cstdint>

#include "pixsyn/core/tensor.hpp"

namespace pixsyn::backend::eigen {

struct AxisSplit {
  std::int64_t outer = 1;   // product of the extents before the axis
  std::int64_t extent = 1;  // the axis itself
  std::int64_t inner = 1;   // product of the extents after the axis
};

inline AxisSplit split_axis(const Shape& shape, int axis) {
  AxisSplit s;
  for (int a = 0; a < shape.rank(); ++a) {
    if (a < axis) s.outer *= shape[a];
    if (a > axis) s.inner *= shape[a];
  }
  s.extent = shape[axis];
  return s;
}

// Work below this many elements stays on one thread.
inline constexpr std::int64_t layout_parallel_grain = 1 << 15;

// dst[o, dst_start + i, :] = src[o, src_start + i, :] for i < count, for every outer index o.
template <class T>
void copy_rows(const T* src, std::int64_t src_extent, std::int64_t src_start, T* dst, std::int64_t dst_extent,
               std::int64_t dst_start, std::int64_t outer, std::int64_t count, std::int64_t inner) {
  const std::int64_t block = count * inner;
#pragma omp parallel for if (outer * block > layout_parallel_grain)
  for (std::int64_t o = 0; o < outer; ++o) {
    const T* from = src + (o * src_extent + src_start) * inner;
    std::copy(from, from + block, dst + (o * dst_extent + dst_start) * inner);
  }
}

// dst[o, i, :] = src[o, index[i], :]; dst has extent `count` along the axis.
template <class T>
void gather_rows(const T* src, std::int64_t src_extent, const std::int64_t* index, std::int64_t count, T* dst,
                 std::int64_t outer, std::int64_t inner) {
#pragma omp parallel for collapse(2) if (outer * count * inner > layout_parallel_grain)
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t i = 0; i < count; ++i) {
      const T* from = src + (o * src_extent + index[i]) * inner;
      std::copy(from, from + inner, dst + (o * count + i) * inner);
    }
}

// dst[o, index[i], :] += src[o, i, :]; threads split the outer index, so repeated indices never race.
template <class T>
void scatter_add_rows(const T* src, const std::int64_t* index, std::int64_t count, T* dst, std::int64_t dst_extent,
                      std::int64_t outer, std::int64_t inner) {
#pragma omp parallel for if (outer * count * inner > layout_parallel_grain && outer > 1)
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t i = 0; i < count; ++i) {
      const T* from = src + (o * count + i) * inner;
      T* to = dst + (o * dst_extent + index[i]) * inner;
      for (std::int64_t k = 0; k < inner; ++k) to[k] += from[k];
    }
}

}  // namespace pixsyn::backend::eigen
