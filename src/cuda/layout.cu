// Row-block copies along one axis: concat, slice, pad_slice, index_select, index_add. Indices are split into
// (outer, row, inner) with 32-bit index math where every offset fits (index.cuh); copies whose rows are whole
// 16-byte vectors (inner a multiple of the vector width, aligned tensors) move a vector per load (vectors.cuh).
#include "common.cuh"
#include "pixsyn/backend/cuda/layout.hpp"
#include "strided_index.cuh"
#include "vectors.cuh"

namespace pixsyn::backend::cuda {

namespace {

// Item i of an (outer, count, inner) block: its outer index o, row j and position k within the row.
template <class Index>
struct RowBlock {
  Divider<Index> inner, count;

  __device__ __forceinline__ void split(Index i, Index& o, Index& j, Index& k) const {
    const Index t = inner.div(i);
    k = i - t * inner.divisor();
    o = count.div(t);
    j = t - o * count.divisor();
  }
};

// A pack of W elements read from `from` on its way to `to`.
template <class T, class Index, int W>
struct Moving {
  Index to;
  Pack<T, W> value;
};

// Items are packs of W elements (inner counts packs).
template <class T, class Index, int W>
__global__ void copy_rows_kernel(const T* __restrict__ src, Index src_extent, Index src_start, T* __restrict__ dst,
                                 Index dst_extent, Index dst_start, Index n, RowBlock<Index> rows) {
  grid_stride_pairs(
      n,
      [&](Index i) {
        Index o, j, k;
        rows.split(i, o, j, k);
        const Index inner = rows.inner.divisor();
        return Moving<T, Index, W>{((o * dst_extent + dst_start + j) * inner + k) * W,
                                   load_pack<W>(src + ((o * src_extent + src_start + j) * inner + k) * W)};
      },
      [&](Index, const Moving<T, Index, W>& m) { store_pack(dst + m.to, m.value); });
}

template <class T, class Index>
__global__ void gather_rows_kernel(const T* __restrict__ src, Index src_extent, const std::int64_t* index, Index n,
                                   T* __restrict__ dst, RowBlock<Index> rows) {
  PIXSYN_GRID_STRIDE_AS(Index, i, n) {
    Index o, j, k;
    rows.split(i, o, j, k);
    dst[i] = src[(o * src_extent + static_cast<Index>(index[j])) * rows.inner.divisor() + k];
  }
}

template <class T, class Index>
__global__ void scatter_add_rows_kernel(const T* __restrict__ src, const std::int64_t* index, Index n, T* dst,
                                        Index dst_extent, RowBlock<Index> rows) {
  PIXSYN_GRID_STRIDE_AS(Index, i, n) {
    Index o, j, k;
    rows.split(i, o, j, k);
    atomicAdd(dst + (o * dst_extent + static_cast<Index>(index[j])) * rows.inner.divisor() + k, src[i]);
  }
}

// 32-bit index math when the block's elements and both tensors' elements are below 2^30.
bool narrow_rows(std::int64_t n, std::int64_t outer, std::int64_t src_extent, std::int64_t dst_extent,
                 std::int64_t inner) {
  return !wide_indices_forced() && fits_int32({n, outer * src_extent * inner, outer * dst_extent * inner});
}

template <class Index>
RowBlock<Index> row_block(std::int64_t count, std::int64_t inner) {
  return {Divider<Index>(inner), Divider<Index>(count)};
}

}  // namespace

template <class T>
void copy_rows(const T* src, std::int64_t src_extent, std::int64_t src_start, T* dst, std::int64_t dst_extent,
               std::int64_t dst_start, std::int64_t outer, std::int64_t count, std::int64_t inner) {
  const std::int64_t n = outer * count * inner;
  if (n == 0) return;
  const bool narrow = narrow_rows(n, outer, src_extent, dst_extent, inner);
  constexpr int V = vector_width<T>;
  if (narrow && inner % V == 0 && vector_aligned(src) && vector_aligned(dst)) {
    using I = std::int32_t;
    copy_rows_kernel<T, I, V><<<grid_for_pairs(n / V), block_size, 0, stream()>>>(
        src, I(src_extent), I(src_start), dst, I(dst_extent), I(dst_start), I(n / V), row_block<I>(count, inner / V));
  } else {
    with_index_type(narrow, [&]<class I>(I) {
      copy_rows_kernel<T, I, 1><<<grid_for_pairs(n), block_size, 0, stream()>>>(
          src, I(src_extent), I(src_start), dst, I(dst_extent), I(dst_start), I(n), row_block<I>(count, inner));
    });
  }
  check_launch("copy_rows (concat/slice/pad_slice)");
}

template <class T>
void gather_rows(const T* src, std::int64_t src_extent, const std::int64_t* index, std::int64_t count, T* dst,
                 std::int64_t outer, std::int64_t inner) {
  const std::int64_t n = outer * count * inner;
  if (n == 0) return;
  with_index_type(narrow_rows(n, outer, src_extent, count, inner), [&]<class I>(I) {
    gather_rows_kernel<<<grid_for(n), block_size, 0, stream()>>>(src, I(src_extent), index, I(n), dst,
                                                                 row_block<I>(count, inner));
  });
  check_launch("index_select");
}

template <class T>
void scatter_add_rows(const T* src, const std::int64_t* index, std::int64_t count, T* dst, std::int64_t dst_extent,
                      std::int64_t outer, std::int64_t inner) {
  const std::int64_t n = outer * count * inner;
  if (n == 0) return;
  with_index_type(narrow_rows(n, outer, count, dst_extent, inner), [&]<class I>(I) {
    scatter_add_rows_kernel<<<grid_for(n), block_size, 0, stream()>>>(src, index, I(n), dst, I(dst_extent),
                                                                      row_block<I>(count, inner));
  });
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
