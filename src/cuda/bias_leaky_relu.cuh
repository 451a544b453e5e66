#pragma once
// The device side of backend/cuda/bias_leaky_relu.hpp.
#include "pixsyn/backend/cuda/bias_leaky_relu.hpp"

namespace pixsyn::backend::cuda {

// a + b rounded on its own: never contracted with a product before it into a fused multiply-add (where the
// unfused ops round the product when they store it).
template <class T>
__device__ __forceinline__ T add_rn(T a, T b) {
  if constexpr (sizeof(T) == 4)
    return __fadd_rn(a, b);
  else
    return __dadd_rn(a, b);
}

// The activation of v in a channel whose bias is `bias` (act.bias must be set).
template <class T>
__device__ __forceinline__ T activate(const BiasLeakyRelu<T>& act, T v, T bias) {
  const T u = add_rn(v, bias);
  const T y = u * (u > 0 ? act.gain : act.slope_gain);
  const T low = y < act.lo ? act.lo : y;
  return low > act.hi ? act.hi : low;
}

// The bias of channel c (0 without an activation): loaded once by a thread whose values share a channel.
template <class T, class I>
__device__ __forceinline__ T channel_bias(const BiasLeakyRelu<T>& act, I c) {
  return act.bias ? act.bias[c] : T(0);
}

// v itself without an activation, else its activation with its channel's bias.
template <class T>
__device__ __forceinline__ T activate_if(const BiasLeakyRelu<T>& act, T v, T bias) {
  return act.bias ? activate(act, v, bias) : v;
}

}  // namespace pixsyn::backend::cuda
