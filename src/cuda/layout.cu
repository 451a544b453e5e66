// Row-block copies along one axis: concat, slice, pad_slice, index_select, index_add.
#include "common.cuh"
#include "pixsyn/backend/cuda/layout.hpp"

namespace pixsyn::backend::cuda {

namespace {

template <class T>
__global__ void copy_rows_kernel(const T* src, std::int64_t src_extent, std::int64_t src_start, T* dst,
                                 std::int64_t dst_extent, std::int64_t dst_start, std::int64_t n, std::int64_t count,
                                 std::int64_t inner) {
  PIXSYN_GRID_STRIDE(i, n) {
    const std::int64_t k = i % inner, t = i / inner, j = t % count, o = t / count;
    dst[(o * dst_extent + dst_start + j) * inner + k] = src[(o * src_extent + src_start + j) * inner + k];
  }
}

template <class T>
__global__ void gather_rows_kernel(const T* src, std::int64_t src_extent, const std::int64_t* index, std::int64_t n,
                                   std::int64_t count, T* dst, std::int64_t inner) {
  PIXSYN_GRID_STRIDE(i, n) {
    const std::int64_t k = i % inner, t = i / inner, j = t % count, o = t / count;
    dst[i] = src[(o * src_extent + index[j]) * inner + k];
  }
}

template <class T>
__global__ void scatter_add_rows_kernel(const T* src, const std::int64_t* index, std::int64_t n, std::int64_t count,
                                        T* dst, std::int64_t dst_extent, std::int64_t inner) {
  PIXSYN_GRID_STRIDE(i, n) {
    const std::int64_t k = i % inner, t = i / inner, j = t % count, o = t / count;
    atomicAdd(dst + (o * dst_extent + index[j]) * inner + k, src[i]);
  }
}

}  // namespace

template <class T>
void copy_rows(const T* src, std::int64_t src_extent, std::int64_t src_start, T* dst, std::int64_t dst_extent,
               std::int64_t dst_start, std::int64_t outer, std::int64_t count, std::int64_t inner) {
  const std::int64_t n = outer * count * inner;
  if (n == 0) return;
  copy_rows_kernel<<<grid_for(n), block_size, 0, stream()>>>(src, src_extent, src_start, dst, dst_extent, dst_start, n,
                                                             count, inner);
  check_launch("copy_rows (concat/slice/pad_slice)");
}

template <class T>
void gather_rows(const T* src, std::int64_t src_extent, const std::int64_t* index, std::int64_t count, T* dst,
                 std::int64_t outer, std::int64_t inner) {
  const std::int64_t n = outer * count * inner;
  if (n == 0) return;
  gather_rows_kernel<<<grid_for(n), block_size, 0, stream()>>>(src, src_extent, index, n, count, dst, inner);
  check_launch("index_select");
}

template <class T>
void scatter_add_rows(const T* src, const std::int64_t* index, std::int64_t count, T* dst, std::int64_t dst_extent,
                      std::int64_t outer, std::int64_t inner) {
  const std::int64_t n = outer * count * inner;
  if (n == 0) return;
  scatter_add_rows_kernel<<<grid_for(n), block_size, 0, stream()>>>(src, index, n, count, dst, dst_extent, inner);
  check_launch("index_add");
}

#define PIXSYN_INSTANTIATE(T)                                                                                    \
  template void copy_rows<T>(const T*, std::int64_t, std::int64_t, T*, std::int64_t, std::int64_t, std::int64_t, \
                             std::int64_t, std::int64_t);                                                        \
  template void gather_rows<T>(const T*, std::int64_t, const std::int64_t*, std::int64_t, T*, std::int64_t,      \
                               std::int64_t);                                                                    \
  template void scatter_add_rows<T>(const T*, const std::int64_t*, std::int64_t, T*, std::int64_t, std::int64_t, \
                                    std::int64_t);
PIXSYN_INSTANTIATE(float)
PIXSYN_INSTANTIATE(double)
#undef PIXSYN_INSTANTIATE

}  // namespace pixsyn::backend::cuda
