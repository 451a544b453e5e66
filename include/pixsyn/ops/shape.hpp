#pragma once
// reshape and broadcast_to on Tensor, CPU and CUDA (more layout ops live in ops/layout.hpp).
#include "pixsyn/backend/cuda/elementwise.hpp"
#include "pixsyn/backend/eigen/broadcast.hpp"
#include "pixsyn/backend/eigen/reduce.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn {

template <class T, class D>
Tensor<T, D> reshape(const Tensor<T, D>& x, const Shape& shape) {
  return x.reshape(shape);
}

template <class T>
Tensor<T, Cpu> broadcast_to(const Tensor<T, Cpu>& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  return backend::eigen::broadcast_to(x, shape);
}

template <class T>
Tensor<T, Cuda> broadcast_to(const Tensor<T, Cuda>& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  const Shape out_shape = backend::eigen::broadcast_shapes(x.shape(), shape, "broadcast_to");
  detail::check(out_shape == shape, "broadcast_to: shape ", x.shape(), " cannot be broadcast to ", shape);
  const auto strides = backend::eigen::broadcast_strides(x.shape(), shape);
  backend::cuda::Strided g;
  g.rank = shape.rank();
  for (int i = 0; i < g.rank; ++i) {
    g.extent[i] = shape[i];
    g.stride_a[i] = strides[i];
  }
  auto out = Tensor<T, Cuda>::empty(shape);
  backend::cuda::strided_copy(x.data(), out.data(), out.numel(), g);
  return out;
}

}  // namespace pixsyn
