#pragma once
// reshape and broadcast_to on Tensor (more layout ops live in ops/layout.hpp).
#include "pixsyn/backend/eigen/reduce.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn {

template <class T>
Tensor<T, Cpu> reshape(const Tensor<T, Cpu>& x, const Shape& shape) {
  return x.reshape(shape);
}

template <class T>
Tensor<T, Cpu> broadcast_to(const Tensor<T, Cpu>& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  return backend::eigen::broadcast_to(x, shape);
}

}  // namespace pixsyn
