#pragma once
// Splitting fp32 values into a TF32 head and an fp32 remainder (see backend/cuda/split_gemm.hpp), for the
// kernels that write GEMM operands. Included from .cu files only.
#include <cstdint>

#include "pixsyn/backend/cuda/split_gemm.hpp"

namespace pixsyn::backend::cuda {

// x rounded to 10 mantissa bits, ties away from zero (cvt.rna.tf32.f32, written with integer operations so
// that it compiles for every architecture): a TF32 value, which the tensor cores read exactly.
__device__ __forceinline__ float tf32_head(float x) {
  return __uint_as_float((__float_as_uint(x) + 0x1000u) & 0xffffe000u);
}

// Stores x as element i of a split row of k values (3k floats): [r | h | h] left, [h | r | h] right.
__device__ __forceinline__ void store_split(float x, float* row, std::int64_t k, std::int64_t i, SplitSide side) {
  const float h = tf32_head(x), r = x - h;  // exact: h shares x's leading bits
  row[i] = side == SplitSide::left ? r : h;
  row[k + i] = side == SplitSide::left ? h : r;
  row[2 * k + i] = h;
}

}  // namespace pixsyn::backend::cuda
