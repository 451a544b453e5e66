#pragma once
// 16-byte vector access for the memory-bound kernels (elementwise.cu, layout.cu). A GPU reaches its memory
// bandwidth only with enough bytes in flight: one 4-byte load per thread leaves an H200 at about half of it.
// These kernels move 16 bytes per load and store (4 floats, 2 doubles) where the operands allow it, and load
// two such vectors per thread before computing either. Included from .cu files only.
#include <cstdint>
#include <type_traits>

#include "common.cuh"

namespace pixsyn::backend::cuda {

// Elements of T in one 16-byte vector.
template <class T>
inline constexpr int vector_width = 16 / sizeof(T);

// W consecutive elements, aligned as a whole so that one instruction loads or stores them.
template <class T, int W>
struct alignas(sizeof(T) * W) Pack {
  static constexpr int width = W;
  T v[W];
};

template <int W>
using Width = std::integral_constant<int, W>;

template <int W, class T>
__device__ __forceinline__ Pack<T, W> load_pack(const T* p) {
  return *reinterpret_cast<const Pack<T, W>*>(p);
}
template <class T, int W>
__device__ __forceinline__ void store_pack(T* p, const Pack<T, W>& x) {
  *reinterpret_cast<Pack<T, W>*>(p) = x;
}
// One element repeated: an operand broadcast along the vector.
template <int W, class T>
__device__ __forceinline__ Pack<T, W> splat(T value) {
  Pack<T, W> x;
#pragma unroll
  for (int e = 0; e < W; ++e) x.v[e] = value;
  return x;
}

inline bool vector_aligned(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; }

// Blocks for grid_stride_pairs over `items`.
inline unsigned grid_for_pairs(std::int64_t items) { return grid_for((items + 1) / 2); }

// A grid-stride loop over items 0 .. count-1 that loads two items (load(i)) before it finishes either
// (finish(i, loaded)). Index is std::int32_t or std::int64_t; with 32 bits, count < 2^30.
template <class Index, class Load, class Finish>
__device__ __forceinline__ void grid_stride_pairs(Index count, Load load, Finish finish) {
  const Index stride = static_cast<Index>(blockDim.x) * gridDim.x;
  for (Index i = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += 2 * stride) {
    const auto first = load(i);
    if (i + stride < count) {
      const auto second = load(i + stride);
      finish(i, first);
      finish(i + stride, second);
    } else {
      finish(i, first);
    }
  }
}

}  // namespace pixsyn::backend::cuda
