#pragma once
// bias_leaky_relu's constants for the GPU kernels that apply it where they read or store a tensor anyway
// (inference fusions: upfirdn2d's store, im2col's and ALIS's coordinate fuser's reads; src/cuda/bias_leaky_relu.cuh).
#include <cstdint>

namespace pixsyn::backend::cuda {

// With u = v + bias[c] for channel c: clamp(u · (u > 0 ? gain : slope_gain), lo, hi), the operations of the
// elementwise bias_leaky_relu (backend/cuda/elementwise.hpp), so equal bit for bit. bias == nullptr: no activation.
template <class T>
struct BiasLeakyRelu {
  const T* bias = nullptr;  // (channels), on the device
  std::int64_t channels = 1;
  T gain = 1, slope_gain = 1, lo = 0, hi = 0;
};

}  // namespace pixsyn::backend::cuda
