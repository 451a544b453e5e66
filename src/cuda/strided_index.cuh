#pragma once
// Offsets of a flat row-major index into strided operands: the index math of the generic elementwise, copy
// and reduction kernels. Integer division is what makes such kernels slow on a GPU (a 64-bit div/mod is a
// software routine of dozens of instructions per axis), so the host first merges the axes that every operand
// steps over as one (collapse), and when every index and offset fits (fits_int32, index.cuh) the kernels
// divide in 32 bits by a multiply-high (FastDivider); only huge tensors keep 64-bit division.
// Included from .cu files only.
#include <cstdint>

#include "index.cuh"
#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/core/shape.hpp"

namespace pixsyn::backend::cuda {

// The test hook of runtime.hpp (force_wide_indices): 64-bit index math even where 32 bits fit.
bool wide_indices_forced();

// An index space of `rank` axes (row-major, innermost last) read by N operands through their element strides
// (0 along broadcast axes), before it is handed to a kernel.
template <int N>
struct StridedAxes {
  int rank = 0;
  std::int64_t extent[max_rank] = {};
  std::int64_t stride[N][max_rank] = {};

  void push(std::int64_t e, const std::int64_t (&s)[N]) {
    extent[rank] = e;
    for (int k = 0; k < N; ++k) stride[k][rank] = s[k];
    ++rank;
  }
  std::int64_t numel() const {
    std::int64_t n = 1;
    for (int d = 0; d < rank; ++d) n *= extent[d];
    return n;
  }
  // The same index space with fewer axes: axes of extent 1 dropped, and each axis merged into the one before
  // it when every operand steps over the pair as over one axis (outer stride = inner stride · inner extent).
  // A broadcast (stride 0 in both) or contiguous run becomes one axis, often leaving one or two.
  StridedAxes collapsed() const {
    StridedAxes c;
    for (int d = 0; d < rank; ++d) {
      if (extent[d] == 1) continue;
      bool merge = c.rank > 0;
      for (int k = 0; k < N && merge; ++k) merge = c.stride[k][c.rank - 1] == stride[k][d] * extent[d];
      if (merge) {
        c.extent[c.rank - 1] *= extent[d];
        for (int k = 0; k < N; ++k) c.stride[k][c.rank - 1] = stride[k][d];
      } else {
        std::int64_t s[N];
        for (int k = 0; k < N; ++k) s[k] = stride[k][d];
        c.push(extent[d], s);
      }
    }
    return c;
  }
  // Operand k's largest offset (strides are never negative).
  std::int64_t last_offset(int k) const {
    std::int64_t last = 0;
    for (int d = 0; d < rank; ++d) last += (extent[d] - 1) * stride[k][d];
    return last;
  }
  // Whether the indices 0 .. numel() - 1 and every operand's offsets fit 32-bit index math.
  bool fits_int32() const {
    if (wide_indices_forced() || !cuda::fits_int32({numel()})) return false;
    for (int k = 0; k < N; ++k)
      if (!cuda::fits_int32({last_offset(k)})) return false;
    return true;
  }
  // One axis of stride 1 in every operand (or none): a plain contiguous range.
  bool contiguous() const {
    if (rank == 0) return true;
    for (int k = 0; k < N; ++k)
      if (rank > 1 || stride[k][0] != 1) return false;
    return true;
  }
};

// StridedAxes as a kernel reads them, with Index arithmetic (std::int32_t when fits_int32, else std::int64_t).
template <class Index, int N>
struct StridedWalk {
  int rank = 0;
  Divider<Index> extent[max_rank];
  Index stride[N][max_rank] = {};

  StridedWalk() = default;
  explicit StridedWalk(const StridedAxes<N>& a) : rank(a.rank) {
    for (int d = 0; d < rank; ++d) {
      extent[d] = Divider<Index>(a.extent[d]);
      for (int k = 0; k < N; ++k) stride[k][d] = static_cast<Index>(a.stride[k][d]);
    }
  }

  // off[k] = operand k's offset of flat index i. The fixed trip count keeps the arrays in the kernel's
  // parameter space (a loop bound of `rank` alone would copy them to local memory to index them).
  __device__ void offsets(Index i, Index (&off)[N]) const {
    for (int k = 0; k < N; ++k) off[k] = 0;
#pragma unroll
    for (int d = max_rank - 1; d >= 0; --d) {
      if (d >= rank) continue;
      const Index q = extent[d].div(i), r = i - q * extent[d].divisor();
#pragma unroll
      for (int k = 0; k < N; ++k) off[k] += r * stride[k][d];
      i = q;
    }
  }
  __device__ Index offset(Index i) const {
    static_assert(N == 1);
    Index off[1];
    offsets(i, off);
    return off[0];
  }
};

}  // namespace pixsyn::backend::cuda
