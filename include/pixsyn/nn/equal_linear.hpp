#pragma once
// EqualLinear (StyleGAN2's equalized learning rate): weights are stored as N(0,1)/lr_mul and scaled at
// run time by lr_mul/sqrt(in), so Adam sees every layer at the same scale. Optional fused
// bias + leaky ReLU(0.2) * sqrt(2), with the bias added before the nonlinearity.
#include <cmath>

#include "pixsyn/autograd/functions/activation.hpp"
#include "pixsyn/autograd/functions/arithmetic.hpp"
#include "pixsyn/autograd/functions/matmul.hpp"
#include "pixsyn/nn/init.hpp"
#include "pixsyn/nn/module.hpp"

namespace pixsyn::nn {

struct EqualLinearOptions {
  double bias_init = 0;
  double lr_mul = 1;
  bool fused_lrelu = false;
};

template <class T, class D = Cpu>
class EqualLinear : public Module<T, D> {
 public:
  EqualLinear(std::int64_t in, std::int64_t out, Philox& gen, EqualLinearOptions options = {})
      : options_(options),
        weight(init::normal<T, D>({out, in}, gen, static_cast<T>(1.0 / options.lr_mul))),
        bias(init::constant<T, D>({out}, static_cast<T>(options.bias_init))) {
    this->register_parameter("weight", weight);
    this->register_parameter("bias", bias);
  }

  // x (..., in) -> (..., out)
  template <class V>
  V operator()(const V& x) const {
    const T scale = static_cast<T>(options_.lr_mul / std::sqrt(static_cast<double>(weight.dim(1))));
    const V w = mul(as_value<V>(weight), scale);
    const V b = mul(as_value<V>(bias), static_cast<T>(options_.lr_mul));
    if (!options_.fused_lrelu) return linear(x, w, b);
    return bias_leaky_relu(linear(x, w, V()), b, -1, LeakyReluOptions{.slope = 0.2, .gain = std::sqrt(2.0)});
  }

 private:
  EqualLinearOptions options_;

 public:
  Var<T, D> weight, bias;
};

}  // namespace pixsyn::nn
