#pragma once
// Elementwise kernels on the GPU (src/cuda/elementwise.cu): unary maps, broadcasting binary maps,
// strided copies (broadcast_to, permute), the fused bias + leaky ReLU and its fused backward.
#include <cstdint>

#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/core/shape.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::backend::cuda {

enum class Unary {
  neg,
  exp,
  log,
  sqrt,
  rsqrt,
  square,
  abs,
  sin,
  cos,
  sigmoid,
  sign,
  softplus,
  floor,
  add_scalar,
  mul_scalar,
  div_scalar,
  clamp,
  clamp_mask,
  leaky_relu,
  leaky_relu_derivative
};

// Scalars of the parametrised maps: add/mul/div_scalar use a; clamp and clamp_mask the bounds [a, b];
// leaky_relu(_derivative) the gain a, slope * gain b, the bounds [c, d] and `clamped`. They are cast
// to T on the device exactly as the CPU kernels cast them.
struct UnaryArgs {
  double a = 0, b = 0, c = 0, d = 0;
  bool clamped = false;
};

enum class Binary { add, sub, mul, div };

// An output of `rank` axes with these extents, read from one or two inputs through element strides
// (0 along broadcast axes).
struct Strided {
  int rank = 0;
  std::int64_t extent[max_rank] = {};
  std::int64_t stride_a[max_rank] = {};
  std::int64_t stride_b[max_rank] = {};
};

template <class T>
void unary(Unary op, const T* x, T* y, std::int64_t n, const UnaryArgs& args);
// out[i] = a[i] op b[i] when `contiguous` (equal shapes), else through the strides of g.
template <class T>
void binary(Binary op, const T* a, const T* b, T* out, std::int64_t n, const Strided& g, bool contiguous);
// out[i] = in[offset of i through g.stride_a]: broadcast_to and permute.
template <class T>
void strided_copy(const T* in, T* out, std::int64_t n, const Strided& g);
// y = leaky_relu(x + bias[c]) with c the index along the middle axis of x viewed as (outer, channels, inner).
template <class T>
void bias_leaky_relu(const T* x, const T* bias, T* y, std::int64_t outer, std::int64_t channels, std::int64_t inner,
                     const UnaryArgs& f);

// grad[i] * leaky_relu_derivative(y[i]) over n contiguous elements (the leaky ReLU backward in one pass).
template <class T>
void leaky_relu_backward(const T* grad, const T* y, T* out, std::int64_t n, const UnaryArgs& f);

template <class T>
Tensor<T, Cuda> unary_map(const Tensor<T, Cuda>& x, Unary op, const UnaryArgs& args = {}) {
  auto out = Tensor<T, Cuda>::empty(x.shape());
  unary(op, x.data(), out.data(), x.numel(), args);
  return out;
}

}  // namespace pixsyn::backend::cuda
