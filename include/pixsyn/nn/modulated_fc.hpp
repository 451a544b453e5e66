#pragma once
// A modulated fully-connected layer (StyleGAN2's modulated 1x1 convolution): an affine "A" maps w to
// per-input-channel styles s, and y = d * (W (s * x)) with optional demodulation d. The maths is one;
// the families differ only in how they store, scale and name it, which a ModulatedFcSpec states:
//   CIPS (rosinality):  weight (1, out, in, 1, 1) scaled by 1/sqrt(in), affine "modulation", no bias.
//   CREPS SynthesisLayer: weight (out, in) with no gain, demodulated, affine "affine", then its own
//                         "bias" and clamp(lrelu(y + bias) * sqrt(2), +-256).
//   CREPS ToResLayer:   weight (out, in), styles scaled by 1/sqrt(in), not demodulated, then "bias"
//                         and clamp(y + bias, +-256).
#include <cmath>
#include <string>

#include "pixsyn/autograd/functions/modulated_fc.hpp"
#include "pixsyn/nn/equal_linear.hpp"

namespace pixsyn::nn {

// Where the 1/sqrt(in) weight gain applies: on the weight (rosinality), on the styles (StyleGAN3's
// ToRes layers), or nowhere (StyleGAN3's demodulated layers, whose demodulation cancels any gain).
enum class ModulatedGain { weight, styles, none };

struct ModulatedFcSpec {
  bool conv_weight = true;  // weight stored as (1, out, in, 1, 1) (a 1x1 conv) rather than (out, in)
  ModulatedGain gain = ModulatedGain::weight;
  bool demodulate = true;
  std::string affine_name = "modulation";
  // An own "bias" (out), registered between "weight" and the affine, and the epilogue
  // clamp(leaky_relu(y + bias)) it comes with (slope 1 and gain 1 make it a plain clamp).
  bool bias = false;
  LeakyReluOptions epilogue{};
};

template <class T, class D = Cpu>
class ModulatedFc : public Module<T, D> {
 public:
  ModulatedFc(std::int64_t in, std::int64_t out, std::int64_t style_dim, ModulatedFcSpec spec, Philox& gen)
      : spec_(std::move(spec)),
        weight(init::normal<T, D>(spec_.conv_weight ? Shape{1, out, in, 1, 1} : Shape{out, in}, gen)),
        affine(style_dim, in, gen, EqualLinearOptions{.bias_init = 1}) {
    this->register_parameter("weight", weight);
    if (spec_.bias) {
      bias = init::constant<T, D>({out}, T(0));
      this->register_parameter("bias", bias);
    }
    this->register_module(spec_.affine_name, affine);
  }

  const ModulatedFcSpec& spec() const { return spec_; }
  std::int64_t in_channels() const { return spec_.conv_weight ? weight.dim(2) : weight.dim(1); }
  std::int64_t out_channels() const { return spec_.conv_weight ? weight.dim(1) : weight.dim(0); }

  // The weight the layer multiplies by, (out, in), with its runtime gain.
  template <class V>
  V matrix() const {
    const V w =
        spec_.conv_weight ? reshape(as_value<V>(weight), Shape{out_channels(), in_channels()}) : as_value<V>(weight);
    return spec_.gain == ModulatedGain::weight ? mul(w, gain()) : w;
  }

  // The styles (B, in) of w (B, style_dim), with their runtime gain.
  template <class V>
  V styles(const V& w) const {
    const V s = affine(w);
    return spec_.gain == ModulatedGain::styles ? mul(s, gain()) : s;
  }

  pixsyn::ModulatedFcOptions options() const { return {.demodulate = spec_.demodulate, .eps = 1e-8}; }

  // x (B, P, in), w (B, style_dim) -> (B, P, out); with an own bias, its epilogue in the same graph node.
  template <class V>
  V operator()(const V& x, const V& w) const {
    if (!spec_.bias) return modulated_fc(x, matrix<V>(), styles(w), options());
    return styled_fc(x, matrix<V>(), styles(w), Tensor<T, D>(), V(), as_value<V>(bias),
                     {.fc = options(), .activation = spec_.epilogue});
  }

 private:
  T gain() const { return static_cast<T>(1.0 / std::sqrt(static_cast<double>(in_channels()))); }

  ModulatedFcSpec spec_;

 public:
  Var<T, D> weight;
  Var<T, D> bias;  // defined (and registered) only when spec().bias
  EqualLinear<T, D> affine;
};

}  // namespace pixsyn::nn
