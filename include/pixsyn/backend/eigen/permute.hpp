#pragma once
// Axis permutation on the CPU: a cache-blocked kernel for swapping the last two axes (the transposes
// GEMM backward passes need) and a strided walk for everything else.
#include <algorithm>
#include <array>
#include <cstdint>

#include "pixsyn/backend/eigen/broadcast.hpp"
#include "pixsyn/backend/eigen/elementwise.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::backend::eigen {

// out[i](c, r) = in[i](r, c) for `batch` row-major (rows, cols) matrices.
template <class T>
void batched_transpose(std::int64_t batch, std::int64_t rows, std::int64_t cols, const T* in, T* out) {
  constexpr std::int64_t tile = 32;
  const std::int64_t row_tiles = (rows + tile - 1) / tile;
#pragma omp parallel for collapse(2) if (batch * rows * cols > parallel_grain)
  for (std::int64_t i = 0; i < batch; ++i) {
    for (std::int64_t rt = 0; rt < row_tiles; ++rt) {
      const T* src = in + i * rows * cols;
      T* dst = out + i * rows * cols;
      const std::int64_t r_end = std::min(rows, (rt + 1) * tile);
      for (std::int64_t c0 = 0; c0 < cols; c0 += tile) {
        const std::int64_t c_end = std::min(cols, c0 + tile);
        for (std::int64_t r = rt * tile; r < r_end; ++r)
          for (std::int64_t c = c0; c < c_end; ++c) dst[c * rows + r] = src[r * cols + c];
      }
    }
  }
}

// The tensor with out.dim(i) = x.dim(axes[i]); `axes` must be a permutation of 0..rank-1.
template <class T>
Tensor<T, Cpu> permute(const Tensor<T, Cpu>& x, const std::array<int, max_rank>& axes) {
  const int r = x.rank();
  Shape shape;
  std::array<std::int64_t, max_rank> strides{};
  const auto own = x.shape().strides();
  for (int i = 0; i < r; ++i) {
    shape.push_back(x.dim(axes[i]));
    strides[i] = own[axes[i]];
  }
  auto out = Tensor<T, Cpu>::empty(shape);
  bool leading_identity = r >= 2 && axes[r - 2] == r - 1 && axes[r - 1] == r - 2;
  for (int i = 0; i + 2 < r; ++i) leading_identity = leading_identity && axes[i] == i;
  if (leading_identity) {
    const std::int64_t rows = x.dim(r - 2), cols = x.dim(r - 1);
    batched_transpose(rows * cols == 0 ? 0 : x.numel() / (rows * cols), rows, cols, x.data(), out.data());
    return out;
  }
  const T* in = x.data();
  T* o = out.data();
  for_each_broadcast(shape, strides, std::array<std::int64_t, max_rank>{},
                     [&](std::int64_t i, std::int64_t ia, std::int64_t) { o[i] = in[ia]; });
  return out;
}

}  // namespace pixsyn::backend::eigen
