#pragma once
// Moving a tensor to the device that a generic algorithm runs on: what the host computes (interpolation
// weights, coordinates, grids, fixed buffers) where D's ops read it, and the few values the host reads
// back. On the CPU the tensor itself, on the GPU a copy across.
#include <type_traits>

#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::detail {

template <class D, class T>
Tensor<T, D> on_device(const Tensor<T, Cpu>& t) {
  if constexpr (std::is_same_v<D, Cuda>)
    return to_device(t);
  else
    return t;
}

template <class T, class D>
Tensor<T, Cpu> on_host(const Tensor<T, D>& t) {
  if constexpr (std::is_same_v<D, Cuda>)
    return to_host(t);
  else
    return t;
}

// A one-element tensor's value on the host, as a double (a loss read back once per training step).
template <class T, class D>
double read_scalar(const Tensor<T, D>& t) {
  return static_cast<double>(on_host(t).item());
}

}  // namespace pixsyn::detail
