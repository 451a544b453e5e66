#pragma once
// A modulated fully-connected layer (StyleGAN2's ModulatedConv2d with a 1x1 kernel, as in CIPS):
// the affine "A" maps w to per-input-channel styles s, and y = d * (W (s * x)) with W scaled by
// 1/sqrt(in) and optional demodulation d. Parameter names follow the official state dict:
// "weight" (1, out, in, 1, 1) and "modulation.{weight,bias}".
#include <cmath>

#include "pixsyn/autograd/functions/modulated_fc.hpp"
#include "pixsyn/nn/equal_linear.hpp"

namespace pixsyn::nn {

template <class T, class D = Cpu>
class ModulatedFc : public Module<T, D> {
 public:
  ModulatedFc(std::int64_t in, std::int64_t out, std::int64_t style_dim, bool demodulate, Philox& gen)
      : demodulate_(demodulate),
        weight(init::normal<T, D>({1, out, in, 1, 1}, gen)),
        modulation(style_dim, in, gen, EqualLinearOptions{.bias_init = 1}) {
    this->register_parameter("weight", weight);
    this->register_module("modulation", modulation);
  }

  std::int64_t in_channels() const { return weight.dim(2); }
  std::int64_t out_channels() const { return weight.dim(1); }

  // x (B, P, in), w (B, style_dim) -> (B, P, out)
  template <class V>
  V operator()(const V& x, const V& w) const {
    const V s = modulation(w);
    const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(in_channels())));
    const V matrix = mul(reshape(as_value<V>(weight), Shape{out_channels(), in_channels()}), scale);
    return modulated_fc(x, matrix, s, ModulatedFcOptions{.demodulate = demodulate_, .eps = 1e-8});
  }

 private:
  bool demodulate_;

 public:
  Var<T, D> weight;
  EqualLinear<T, D> modulation;
};

}  // namespace pixsyn::nn
