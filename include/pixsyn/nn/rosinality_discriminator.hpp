#pragma once
// rosinality's StyleGAN2 residual discriminator, which CIPS trains with (Discriminators.py; cips.md §7),
// with the official state-dict names and parameter counts (28,864,129 at size 256, 26,488,833 at 64):
//
//   convs.0           1x1 ConvLayer input_channels -> ch[size]   ("convs.0.0.weight", "convs.0.1.bias")
//   convs.1 .. n      ResBlocks size -> 4, each halving the image  ("convs.i.conv1", ".conv2", ".skip")
//   final_conv        3x3 ConvLayer (ch[4] + 1) -> ch[4] after the minibatch stddev (group min(B, 4))
//   final_linear.0/1  EqualLinear ch[4]·16 -> ch[4] (leaky ReLU), EqualLinear ch[4] -> 1
//
// A ConvLayer is an nn.Sequential: [Blur ("kernel", when down-sampling)], EqualConv2d ("weight", no bias),
// [FusedLeakyReLU ("bias", when activated)]; its maths is nn::equal_conv2d.
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pixsyn/autograd/functions/layout.hpp"
#include "pixsyn/autograd/functions/minibatch_stddev.hpp"
#include "pixsyn/nn/equal_conv.hpp"
#include "pixsyn/nn/equal_linear.hpp"
#include "pixsyn/nn/fused_leaky_relu.hpp"

namespace pixsyn::nn {

struct RosinalityDiscriminatorConfig {
  int size = 256;  // the side of the images it judges: a power of two in [8, 1024]
  int channel_multiplier = 2;
  int input_channels = 3;  // CIPS: 3 with --img2dis (RGB), 5 with the two coordinate channels
  int max_channels = 0;    // caps every width of the official table when > 0 (narrow models)
  int stddev_group = 4;

  // The official channel table (cips.md §7), capped by max_channels.
  int channels(int resolution) const {
    const int cm = channel_multiplier;
    const int c = resolution <= 32    ? 512
                  : resolution == 64  ? 256 * cm
                  : resolution == 128 ? 128 * cm
                  : resolution == 256 ? 64 * cm
                  : resolution == 512 ? 32 * cm
                                      : 16 * cm;
    return max_channels > 0 && c > max_channels ? max_channels : c;
  }
};

namespace detail {

// rosinality's Blur: only the filter buffer "kernel" (outer([1,3,3,1]) / 64).
template <class T, class D>
class Blur : public Module<T, D> {
 public:
  Blur() : kernel(resample_filter<T, D>()) { this->register_buffer("kernel", kernel); }
  Tensor<T, D> kernel;
};

// EqualConv2d without a bias (the discriminator's convs never have one: the activation holds it).
template <class T, class D>
class EqualConv2dWeight : public Module<T, D> {
 public:
  EqualConv2dWeight(std::int64_t in, std::int64_t out, std::int64_t k, Philox& gen)
      : weight(init::normal<T, D>({out, in, k, k}, gen)) {
    this->register_parameter("weight", weight);
  }
  Var<T, D> weight;
};

// rosinality's ConvLayer(in, out, k, downsample, bias = activate = lrelu), children numbered as its
// nn.Sequential numbers them.
template <class T, class D>
class ConvLayer : public Module<T, D> {
 public:
  ConvLayer(std::int64_t in, std::int64_t out, std::int64_t k, bool down, bool lrelu, Philox& gen)
      : down_(down), lrelu_(lrelu), conv(in, out, k, gen), activate(out) {
    int index = 0;
    if (down) this->register_module(std::to_string(index++), blur);
    this->register_module(std::to_string(index++), conv);
    if (lrelu) this->register_module(std::to_string(index++), activate);
  }
  template <class V>
  V operator()(const V& x) const {
    return equal_conv2d(x, conv.weight, lrelu_ ? activate.bias : Var<T, D>(), blur.kernel,
                        EqualConvOptions{.down = down_, .lrelu = lrelu_});
  }

 private:
  bool down_, lrelu_;

 public:
  Blur<T, D> blur;  // registered only when down-sampling
  EqualConv2dWeight<T, D> conv;
  FusedLeakyRelu<T, D> activate;  // registered only when activated
};

// (conv2(conv1(x)) + skip(x)) / √2, halving the image.
template <class T, class D>
class ResBlock : public Module<T, D> {
 public:
  ResBlock(std::int64_t in, std::int64_t out, Philox& gen)
      : conv1(in, in, 3, false, true, gen), conv2(in, out, 3, true, true, gen), skip(in, out, 1, true, false, gen) {
    this->register_module("conv1", conv1);
    this->register_module("conv2", conv2);
    this->register_module("skip", skip);
  }
  template <class V>
  V operator()(const V& x) const {
    return mul(add(conv2(conv1(x)), skip(x)), static_cast<T>(1 / std::sqrt(2.0)));
  }
  ConvLayer<T, D> conv1, conv2, skip;
};

}  // namespace detail

template <class T, class D = Cpu>
class RosinalityDiscriminator : public Module<T, D> {
 public:
  using value_type = T;

  RosinalityDiscriminator(const RosinalityDiscriminatorConfig& config, Philox gen)
      : config_(checked(config)),
        input(config.input_channels, config.channels(config.size), 1, false, true, gen),
        final_conv(config.channels(4) + 1, config.channels(4), 3, false, true, gen),
        hidden(std::int64_t(config.channels(4)) * 16, config.channels(4), gen, EqualLinearOptions{.fused_lrelu = true}),
        out(config.channels(4), 1, gen) {
    convs.add(input);
    for (int res = config.size; res > 4; res /= 2) {
      blocks.push_back(std::make_unique<detail::ResBlock<T, D>>(config.channels(res), config.channels(res / 2), gen));
      convs.add(*blocks.back());
    }
    this->register_module("convs", convs);
    this->register_module("final_conv", final_conv);
    final_linear.add(hidden);
    final_linear.add(out);
    this->register_module("final_linear", final_linear);
  }
  explicit RosinalityDiscriminator(const RosinalityDiscriminatorConfig& config, std::uint64_t seed = 0)
      : RosinalityDiscriminator(config, Philox{seed}) {}

  const RosinalityDiscriminatorConfig& config() const { return config_; }

  // images (B, input_channels, size, size) -> logits (B, 1); B must split into stddev groups of min(B, 4).
  template <class V>
  V operator()(const V& images) const {
    const auto& c = config_;
    pixsyn::detail::check(
        images.rank() == 4 && images.dim(1) == c.input_channels && images.dim(2) == c.size && images.dim(3) == c.size,
        "RosinalityDiscriminator: images have shape ", images.shape(), "; expected (batch, ", c.input_channels, ", ",
        c.size, ", ", c.size, ")");
    V x = input(images);
    for (const auto& block : blocks) x = (*block)(x);
    x = final_conv(minibatch_stddev(x, c.stddev_group, 1));
    x = reshape(x, Shape{images.dim(0), x.numel() / images.dim(0)});
    return out(hidden(x));
  }

 private:
  static const RosinalityDiscriminatorConfig& checked(const RosinalityDiscriminatorConfig& c) {
    pixsyn::detail::check(c.size >= 8 && c.size <= 1024 && (c.size & (c.size - 1)) == 0,
                          "RosinalityDiscriminator: size ", c.size, " is not a power of two in [8, 1024]");
    pixsyn::detail::check(
        c.channel_multiplier >= 1 && c.input_channels >= 1 && c.max_channels >= 0 && c.stddev_group >= 1,
        "RosinalityDiscriminator: channel_multiplier ", c.channel_multiplier, ", input_channels ", c.input_channels,
        " and stddev_group ", c.stddev_group, " must be positive, max_channels ", c.max_channels, " non-negative");
    return c;
  }

  RosinalityDiscriminatorConfig config_;

 public:
  detail::ConvLayer<T, D> input;                                // "convs.0"
  std::vector<std::unique_ptr<detail::ResBlock<T, D>>> blocks;  // "convs.1" ...
  NumberedChildren<T, D> convs;
  detail::ConvLayer<T, D> final_conv;
  EqualLinear<T, D> hidden, out;  // "final_linear.0", "final_linear.1"
  NumberedChildren<T, D> final_linear;
};

}  // namespace pixsyn::nn
