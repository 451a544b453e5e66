#pragma once
// Offsets of a flat row-major index into strided operands: the index math of the generic elementwise, copy
// and reduction kernels. Integer division is what makes such kernels slow on a GPU (a 64-bit div/mod is a
// software routine of dozens of instructions per axis), so the host first merges the axes that every operand
// steps over as one (collapse), and when every index and offset fits (fits_int32, index.cuh) the kernels
// divide in 32 bits by a multiply-high (FastDivider). Index spaces beyond that (tensors of 2^30 elements and
// more) are cut into pieces that each fit it (narrow_pieces): per piece, the operands' offsets of its first
// element in 64 bits, once, on the host. Only index spaces that would take too many pieces keep 64-bit division.
// Included from .cu files only.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "index.cuh"
#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/core/shape.hpp"

namespace pixsyn::backend::cuda {

// The test hook of runtime.hpp (force_wide_indices): 64-bit index math even where 32 bits fit.
bool wide_indices_forced();
// The bound that an index space's sizes and offsets stay below for 32-bit index math: 2^30 (fits_int32,
// index.cuh), lower under the test hook limit_narrow_indices, and 0 (nothing fits) under force_wide_indices.
std::int64_t narrow_index_limit();

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
  // Whether the indices 0 .. numel() - 1 and every operand's offsets stay below `limit`.
  bool fits_below(std::int64_t limit) const {
    if (numel() >= limit) return false;
    for (int k = 0; k < N; ++k)
      if (last_offset(k) >= limit) return false;
    return true;
  }
  // Axes first .. rank - 1 as an index space of their own.
  StridedAxes inner(int first) const {
    StridedAxes a;
    for (int d = first; d < rank; ++d) {
      std::int64_t s[N];
      for (int k = 0; k < N; ++k) s[k] = stride[k][d];
      a.push(extent[d], s);
    }
    return a;
  }
  // One axis of stride 1 in every operand (or none): a plain contiguous range.
  bool contiguous() const {
    if (rank == 0) return true;
    for (int k = 0; k < N; ++k)
      if (rank > 1 || stride[k][0] != 1) return false;
    return true;
  }
};

// A piece of an index space: a range of one axis, at one index of each axis before it, with all axes after
// it; where it starts in flat (row-major) order, and each operand's offset there.
template <int N>
struct StridedPiece {
  StridedAxes<N> axes;
  std::int64_t first = 0;
  std::int64_t offset[N] = {};
};

// More pieces than this cost more in launches than 64-bit index math does.
inline constexpr std::size_t max_pieces = 1024;

// Appends the pieces of axes d.. of `a` at `at` (an index of each axis before d) to `pieces`: ranges of axis d
// as long as fit below `limit`, or, where one index of it does not fit, each index of it with the axes after
// it cut in turn (the innermost axis always fits one index below a limit >= 2). False when that would take
// more than max_pieces.
template <int N>
bool cut_pieces(const StridedAxes<N>& a, int d, const StridedPiece<N>& at, std::int64_t limit,
                std::vector<StridedPiece<N>>& pieces) {
  const StridedAxes<N> inner = a.inner(d + 1);
  const std::int64_t inner_numel = inner.numel();
  std::int64_t k = std::min(a.extent[d], (limit - 1) / inner_numel);
  for (int op = 0; op < N; ++op) {
    const std::int64_t room = limit - 1 - inner.last_offset(op);
    if (room < 0)
      k = 0;
    else if (a.stride[op][d] > 0)
      k = std::min(k, room / a.stride[op][d] + 1);
  }
  for (std::int64_t i = 0; i < a.extent[d]; i += k < 1 ? 1 : k) {
    StridedPiece<N> p = at;
    p.first += i * inner_numel;
    for (int op = 0; op < N; ++op) p.offset[op] += i * a.stride[op][d];
    if (k < 1) {
      if (!cut_pieces(a, d + 1, p, limit, pieces)) return false;
      continue;
    }
    if (pieces.size() == max_pieces) return false;
    std::int64_t s[N];
    for (int op = 0; op < N; ++op) s[op] = a.stride[op][d];
    p.axes = StridedAxes<N>{};
    p.axes.push(std::min(k, a.extent[d] - i), s);
    for (int e = 0; e < inner.rank; ++e) {
      for (int op = 0; op < N; ++op) s[op] = inner.stride[op][e];
      p.axes.push(inner.extent[e], s);
    }
    pieces.push_back(p);
  }
  return true;
}

// `axes` in pieces that each fit 32-bit index math below `limit` (one piece when the whole does), in flat
// order; none when that takes more than max_pieces or limit < 2 (64-bit index math then).
template <int N>
std::vector<StridedPiece<N>> narrow_pieces(const StridedAxes<N>& axes, std::int64_t limit) {
  std::vector<StridedPiece<N>> pieces;
  if (limit < 2) return pieces;
  if (axes.rank == 0 || axes.fits_below(limit)) {
    pieces.push_back({axes});
    return pieces;
  }
  if (!cut_pieces(axes, 0, {}, limit, pieces)) pieces.clear();
  return pieces;
}

// StridedAxes as a kernel reads them, with Index arithmetic (std::int32_t for a piece, else std::int64_t).
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
