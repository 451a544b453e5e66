#pragma once
// The 16-bit operand types of the fast renderers, E = __nv_bfloat16 (8-bit mantissa, fp32's range) or
// __half (fp16: 10-bit mantissa, ±65504): values and pairs of values to and from fp32, rounded to nearest.
// Included from .cu files only.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <type_traits>

namespace pixsyn::backend::cuda {

__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float to_float(__half v) { return __half2float(v); }

template <class E>
using Pair16 = std::conditional_t<std::is_same_v<E, __half>, __half2, __nv_bfloat162>;

__device__ __forceinline__ float2 unpack2(__nv_bfloat162 v) { return __bfloat1622float2(v); }
__device__ __forceinline__ float2 unpack2(__half2 v) { return __half22float2(v); }

template <class E>
__device__ __forceinline__ Pair16<E> pack2(float a, float b) {
  if constexpr (std::is_same_v<E, __half>)
    return __floats2half2_rn(a, b);
  else
    return __floats2bfloat162_rn(a, b);
}

}  // namespace pixsyn::backend::cuda
