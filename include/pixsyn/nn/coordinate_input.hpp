#pragma once
// The CIPS coordinate encodings: Fourier features ("lff.ffm.conv", a plain 1x1 conv 2 -> C with
// bias, then sin) and the learned coordinate embedding ("emb.input" (1, C, S, S)), read at any point
// by bilinear grid_sample with align_corners = false and border padding, as the official eval does.
#include <cmath>

#include "pixsyn/autograd/functions/grid_sample.hpp"
#include "pixsyn/autograd/functions/math.hpp"
#include "pixsyn/autograd/functions/matmul.hpp"
#include "pixsyn/autograd/functions/permute.hpp"
#include "pixsyn/nn/init.hpp"
#include "pixsyn/nn/module.hpp"

namespace pixsyn::nn {

template <class T, class D = Cpu>
class FourierConv : public Module<T, D> {
 public:
  FourierConv(std::int64_t channels, Philox& gen)
      // SIREN-style first-layer bound sqrt(9 / in) for the weight; PyTorch's default conv bound for the bias.
      : weight(init::uniform<T, D>({channels, 2, 1, 1}, gen, static_cast<T>(std::sqrt(9.0 / 2.0)))),
        bias(init::uniform<T, D>({channels}, gen, static_cast<T>(1.0 / std::sqrt(2.0)))) {
    this->register_parameter("weight", weight);
    this->register_parameter("bias", bias);
  }
  Var<T, D> weight, bias;
};

// "lff.ffm.conv.*": the official conv sits inside an otherwise empty "ffm" module.
template <class T, class D = Cpu>
class FourierMapping : public Module<T, D> {
 public:
  FourierMapping(std::int64_t channels, Philox& gen) : conv(channels, gen) { this->register_module("conv", conv); }
  FourierConv<T, D> conv;
};

template <class T, class D = Cpu>
class FourierFeatures : public Module<T, D> {
 public:
  FourierFeatures(std::int64_t channels, Philox& gen) : ffm(channels, gen) { this->register_module("ffm", ffm); }

  // xy (N, 2) -> sin(W xy + b) (N, C)
  template <class V>
  V operator()(const V& xy) const {
    const auto& conv = ffm.conv;
    const V w = reshape(as_value<V>(conv.weight), Shape{conv.weight.dim(0), 2});
    return sin(linear(xy, w, as_value<V>(conv.bias)));
  }

  FourierMapping<T, D> ffm;
};

template <class T, class D = Cpu>
class CoordinateEmbedding : public Module<T, D> {
 public:
  CoordinateEmbedding(std::int64_t channels, std::int64_t size, Philox& gen)
      : input(init::normal<T, D>({1, channels, size, size}, gen)) {
    this->register_parameter("input", input);
  }

  // xy (N, 2) -> the table sampled at each point (N, C)
  template <class V>
  V operator()(const V& xy) const {
    const std::int64_t n = xy.dim(0);
    const V sampled = grid_sample(as_value<V>(input), reshape(xy, Shape{1, 1, n, 2}),
                                  GridSampleOptions{.align_corners = false, .padding = Padding::border});
    return transpose(reshape(sampled, Shape{input.dim(1), n}), 0, 1);
  }

  Var<T, D> input;
};

}  // namespace pixsyn::nn
