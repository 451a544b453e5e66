#pragma once
// Offsets of a flat row-major index into strided operands: the index math of the generic elementwise, copy
// and reduction kernels. Integer division is what makes such kernels slow on a GPU (a 64-bit div/mod is a
// software routine of dozens of instructions per axis), so the host first merges the axes that every operand
// steps over as one (collapse), and when every index and offset fits in 31 bits the kernels divide by a
// precomputed multiply-high and shift (Divider<std::uint32_t>); only huge tensors keep 64-bit division.
// Included from .cu files only.
#include <cstdint>

#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/core/shape.hpp"

namespace pixsyn::backend::cuda {

// n / d for a divisor fixed at launch.
template <class Index>
struct Divider;

template <>
struct Divider<std::int64_t> {
  std::int64_t d = 1;
  __device__ std::int64_t div(std::int64_t n) const { return n / d; }
};

// Division by an invariant integer (Granlund and Montgomery, 1994): with s = ceil(log2 d) and
// m = floor(2^32 (2^s - d) / d) + 1 (which fits in 32 bits), n / d = (umulhi(n, m) + n) >> s for every
// n < 2^31, the range in which the sum cannot wrap.
template <>
struct Divider<std::uint32_t> {
  std::uint32_t d = 1, magic = 1, shift = 0;
  __device__ std::uint32_t div(std::uint32_t n) const { return (__umulhi(n, magic) + n) >> shift; }
};

// A divider for d >= 1 (on the host).
template <class Index>
Divider<Index> divider(std::int64_t d);
template <>
inline Divider<std::int64_t> divider(std::int64_t d) {
  return {d};
}
template <>
inline Divider<std::uint32_t> divider(std::int64_t d) {
  std::uint32_t shift = 0;
  while ((std::int64_t{1} << shift) < d) ++shift;
  const std::uint64_t one = 1, magic = (one << 32) * ((one << shift) - std::uint64_t(d)) / std::uint64_t(d) + 1;
  return {static_cast<std::uint32_t>(d), static_cast<std::uint32_t>(magic), shift};
}

inline constexpr std::int64_t index_limit_31 = std::int64_t{1} << 31;

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
  // Whether the indices 0 .. numel() - 1 and every operand's offsets stay below 2^31 (Divider<uint32_t>).
  bool fits_31_bits() const {
    if (numel() >= index_limit_31 || wide_indices_forced()) return false;
    for (int k = 0; k < N; ++k)
      if (last_offset(k) >= index_limit_31) return false;
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

// StridedAxes as a kernel reads them, with Index arithmetic (std::uint32_t when fits_31_bits, else int64).
template <class Index, int N>
struct StridedWalk {
  int rank = 0;
  Divider<Index> extent[max_rank];
  Index stride[N][max_rank] = {};

  StridedWalk() = default;
  explicit StridedWalk(const StridedAxes<N>& a) : rank(a.rank) {
    for (int d = 0; d < rank; ++d) {
      extent[d] = divider<Index>(a.extent[d]);
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
      const Index q = extent[d].div(i), r = i - q * extent[d].d;
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
