#pragma once
// Parameter initialisers matching PyTorch's, drawn from a Philox stream (so inits are reproducible).
#include "pixsyn/autograd/var.hpp"
#include "pixsyn/core/tensor.hpp"
#include "pixsyn/ops/arithmetic.hpp"

namespace pixsyn::nn::init {

// N(0, 1) * scale as a trainable leaf.
template <class T, class D = Cpu>
Var<T, D> normal(const Shape& shape, Philox& gen, T scale = T(1)) {
  auto t = Tensor<T, D>::randn(shape, gen);
  if (scale != T(1)) t = mul(t, scale);
  return Var<T, D>::parameter(t);
}

// U(-bound, bound) as a trainable leaf.
template <class T, class D = Cpu>
Var<T, D> uniform(const Shape& shape, Philox& gen, T bound) {
  auto u = Tensor<T, D>::rand(shape, gen);
  return Var<T, D>::parameter(add(mul(u, T(2) * bound), -bound));
}

template <class T, class D = Cpu>
Var<T, D> constant(const Shape& shape, T value) {
  return Var<T, D>::parameter(Tensor<T, D>::full(shape, value));
}

}  // namespace pixsyn::nn::init
