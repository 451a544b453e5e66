#pragma once
// StyledConv (CIPS): modulated FC with demodulation -> + noise.weight * noise -> bias + activation.
// The activation is leaky ReLU(0.2) * sqrt(2) with bias "activate.bias" (official default), or
// sin(x + bias) with its own "bias" of shape (1, C, 1, 1) (the official 'sin' activation option).
#include <cmath>

#include "pixsyn/autograd/functions/math.hpp"
#include "pixsyn/nn/fused_leaky_relu.hpp"
#include "pixsyn/nn/modulated_fc.hpp"
#include "pixsyn/nn/noise.hpp"

namespace pixsyn::nn {

enum class Activation { leaky_relu, sine };

// The rosinality modulated FC of CIPS: weight (1, out, in, 1, 1) scaled by 1/sqrt(in), affine "modulation".
inline ModulatedFcSpec rosinality_modulated_fc(bool demodulate) {
  return {.conv_weight = true, .gain = ModulatedGain::weight, .demodulate = demodulate, .affine_name = "modulation"};
}

// One learnable scalar scaling the per-pixel noise ("noise.weight", init 0).
template <class T, class D = Cpu>
class NoiseInjection : public Module<T, D> {
 public:
  NoiseInjection() : weight(init::constant<T, D>({1}, T(0))) { this->register_parameter("weight", weight); }
  Var<T, D> weight;
};

template <class T, class D = Cpu>
class StyledConv : public Module<T, D> {
 public:
  StyledConv(std::int64_t in, std::int64_t out, std::int64_t style_dim, Activation activation, Philox& gen)
      : activation_(activation), conv(in, out, style_dim, rosinality_modulated_fc(true), gen), activate(out) {
    this->register_module("conv", conv);
    this->register_module("noise", noise);
    if (activation == Activation::leaky_relu) {
      this->register_module("activate", activate);
    } else {
      sine_bias = init::constant<T, D>({1, out, 1, 1}, T(0));
      this->register_parameter("bias", sine_bias);
    }
  }

  // x (B, P, in), w (B, style_dim), noise (B, P, 1) or undefined -> (B, P, out)
  template <class V>
  V operator()(const V& x, const V& w, const Tensor<T, D>& noise_map) const {
    // Training keeps one (B, P, out) tensor per layer: the whole layer is one graph node (styled_fc).
    if (activation_ == Activation::leaky_relu)
      return styled_fc(x, conv.template matrix<V>(), conv.styles(w), noise_map, as_value<V>(noise.weight),
                       as_value<V>(activate.bias),
                       {.fc = conv.options(), .activation = {.slope = 0.2, .gain = std::sqrt(2.0)}});
    V y = conv(x, w);
    if (noise_map.defined()) y = add(y, mul(as_constant<V>(noise_map), as_value<V>(noise.weight)));
    return sin(add(y, reshape(as_value<V>(sine_bias), Shape{conv.out_channels()})));
  }

 private:
  Activation activation_;

 public:
  ModulatedFc<T, D> conv;
  NoiseInjection<T, D> noise;
  FusedLeakyRelu<T, D> activate;  // registered only for leaky_relu
  Var<T, D> sine_bias;            // registered as "bias" only for sine
};

// ToRGB (CIPS): modulated FC to 3 channels WITHOUT demodulation, plus "bias" (1, 3, 1, 1).
template <class T, class D = Cpu>
class ToRgb : public Module<T, D> {
 public:
  ToRgb(std::int64_t in, std::int64_t style_dim, Philox& gen)
      : bias(init::constant<T, D>({1, 3, 1, 1}, T(0))), conv(in, 3, style_dim, rosinality_modulated_fc(false), gen) {
    this->register_parameter("bias", bias);
    this->register_module("conv", conv);
  }

  // x (B, P, in), w (B, style_dim) -> (B, P, 3)
  template <class V>
  V operator()(const V& x, const V& w) const {
    return add(conv(x, w), reshape(as_value<V>(bias), Shape{3}));
  }

  Var<T, D> bias;
  ModulatedFc<T, D> conv;
};

}  // namespace pixsyn::nn
