#pragma once
// Row-block copies along one axis on the GPU (src/cuda/layout.cu): the kernels behind concat, slice,
// pad_slice, index_select and index_add. A tensor is viewed as (outer, extent, inner) around the axis;
// index pointers are device memory.
#include <cstdint>

#include "pixsyn/backend/cuda/runtime.hpp"

namespace pixsyn::backend::cuda {

// dst[o, dst_start + i, :] = src[o, src_start + i, :] for i < count.
template <class T>
void copy_rows(const T* src, std::int64_t src_extent, std::int64_t src_start, T* dst, std::int64_t dst_extent,
               std::int64_t dst_start, std::int64_t outer, std::int64_t count, std::int64_t inner);
// dst[o, i, :] = src[o, index[i], :]; dst has extent `count` along the axis.
template <class T>
void gather_rows(const T* src, std::int64_t src_extent, const std::int64_t* index, std::int64_t count, T* dst,
                 std::int64_t outer, std::int64_t inner);
// dst[o, index[i], :] += src[o, i, :] (atomic, so repeated indices accumulate).
template <class T>
void scatter_add_rows(const T* src, const std::int64_t* index, std::int64_t count, T* dst, std::int64_t dst_extent,
                      std::int64_t outer, std::int64_t inner);

}  // namespace pixsyn::backend::cuda
