#pragma once
// The StyleGAN2-ADA discriminator with the resnet architecture (training/networks.py), which CREPS and
// ALIS train with (creps.md §5, alis.md §4), unconditional, with the official state-dict names:
//
//   b<res> for res = size, size/2, ..., 8   DiscriminatorBlock: "resample_filter"; at the top resolution
//       "fromrgb" (1x1 img_channels -> ch[res], lrelu); "conv0" 3x3 ch[res] -> ch[res] (lrelu);
//       "conv1" 3x3 down 2 ch[res] -> ch[res/2] (lrelu, gain √0.5); "skip" 1x1 down 2, no bias, linear,
//       gain √0.5; out = skip + conv1(conv0(x)).
//   b4   DiscriminatorEpilogue: minibatch stddev, "conv" 3x3 (ch[4] + 1) -> ch[4] (lrelu), "fc"
//       ch[4]·16 -> ch[4] (lrelu), "out" ch[4] -> 1.
//
// ch[res] = min(channel_base / res, channel_max). Every Conv2dLayer keeps its own "resample_filter"
// buffer (also the ones that never resample), as the official module does. conv_clamp (256 for CREPS and
// ALIS) clamps every conv layer's output; the fully connected layers are never clamped. The official
// code runs the top num_fp16_res resolutions in fp16 on the GPU; here they run in T.
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pixsyn/autograd/functions/layout.hpp"
#include "pixsyn/autograd/functions/minibatch_stddev.hpp"
#include "pixsyn/nn/equal_conv.hpp"
#include "pixsyn/nn/equal_linear.hpp"

namespace pixsyn::nn {

struct StyleGan2DiscriminatorConfig {
  int size = 256;  // img_resolution: a power of two in [8, 1024]
  int img_channels = 3;
  int channel_base = 32768;
  int channel_max = 512;
  double conv_clamp = -1;  // negative: none
  int mbstd_group = 4;
  int mbstd_channels = 1;

  int channels(int resolution) const { return std::min(channel_base / resolution, channel_max); }

  // CREPS: channel base 32768, max 512, clamp 256 (creps.md §5).
  static StyleGan2DiscriminatorConfig creps(int size) { return {.size = size, .conv_clamp = 256}; }
  // ALIS: channel base 16384, max 512, clamp 256 (alis.md §4; 24,001,089 parameters at 256).
  static StyleGan2DiscriminatorConfig alis(int size) {
    return {.size = size, .channel_base = 16384, .conv_clamp = 256};
  }
};

namespace detail {

// SG2-ADA's Conv2dLayer: "weight" N(0, 1), "bias" zeros (optional), the "resample_filter" buffer.
template <class T, class D>
class Conv2dLayer : public Module<T, D> {
 public:
  Conv2dLayer(std::int64_t in, std::int64_t out, std::int64_t k, bool bias, EqualConvOptions options, Philox& gen)
      : options_(options),
        weight(init::normal<T, D>({out, in, k, k}, gen)),
        resample_filter(nn::resample_filter<T, D>()) {
    this->register_parameter("weight", weight);
    if (bias) {
      this->bias = init::constant<T, D>({out}, T(0));
      this->register_parameter("bias", this->bias);
    }
    this->register_buffer("resample_filter", resample_filter);
  }
  template <class V>
  V operator()(const V& x) const {
    return equal_conv2d(x, weight, bias, resample_filter, options_);
  }

 private:
  EqualConvOptions options_;

 public:
  Var<T, D> weight, bias;
  Tensor<T, D> resample_filter;
};

template <class T, class D>
class DiscriminatorBlock : public Module<T, D> {
 public:
  DiscriminatorBlock(const StyleGan2DiscriminatorConfig& c, int res, Philox& gen)
      : resample_filter(nn::resample_filter<T, D>()),
        conv0(c.channels(res), c.channels(res), 3, true, {.clamp = c.conv_clamp}, gen),
        conv1(c.channels(res), c.channels(res / 2), 3, true,
              {.down = true, .gain = std::sqrt(0.5), .clamp = c.conv_clamp}, gen),
        skip(c.channels(res), c.channels(res / 2), 1, false,
             {.down = true, .lrelu = false, .gain = std::sqrt(0.5), .clamp = c.conv_clamp}, gen) {
    this->register_buffer("resample_filter", resample_filter);
    if (res == c.size) {
      fromrgb = std::make_unique<Conv2dLayer<T, D>>(c.img_channels, c.channels(res), 1, true,
                                                    EqualConvOptions{.clamp = c.conv_clamp}, gen);
      this->register_module("fromrgb", *fromrgb);
    }
    this->register_module("conv0", conv0);
    this->register_module("conv1", conv1);
    this->register_module("skip", skip);
  }
  // x: the features of the block above, or the image at the top block.
  template <class V>
  V operator()(const V& x) const {
    const V features = fromrgb ? (*fromrgb)(x) : x;
    return add(skip(features), conv1(conv0(features)));
  }

  Tensor<T, D> resample_filter;
  std::unique_ptr<Conv2dLayer<T, D>> fromrgb;
  Conv2dLayer<T, D> conv0, conv1, skip;
};

template <class T, class D>
class DiscriminatorEpilogue : public Module<T, D> {
 public:
  DiscriminatorEpilogue(const StyleGan2DiscriminatorConfig& c, Philox& gen)
      : conv(c.channels(4) + c.mbstd_channels, c.channels(4), 3, true, {.clamp = c.conv_clamp}, gen),
        fc(std::int64_t(c.channels(4)) * 16, c.channels(4), gen, EqualLinearOptions{.fused_lrelu = true}),
        out(c.channels(4), 1, gen),
        group_(c.mbstd_group),
        stddev_channels_(c.mbstd_channels) {
    this->register_module("conv", conv);
    this->register_module("fc", fc);
    this->register_module("out", out);
  }
  template <class V>
  V operator()(const V& x) const {
    V y = conv(minibatch_stddev(x, group_, stddev_channels_));
    return out(fc(reshape(y, Shape{y.dim(0), y.numel() / y.dim(0)})));
  }

  Conv2dLayer<T, D> conv;
  EqualLinear<T, D> fc, out;

 private:
  int group_, stddev_channels_;
};

}  // namespace detail

template <class T, class D = Cpu>
class StyleGan2Discriminator : public Module<T, D> {
 public:
  using value_type = T;

  StyleGan2Discriminator(const StyleGan2DiscriminatorConfig& config, Philox gen) : config_(checked(config)) {
    for (int res = config.size; res > 4; res /= 2) {
      blocks.push_back(std::make_unique<detail::DiscriminatorBlock<T, D>>(config, res, gen));
      this->register_module(pixsyn::detail::concat("b", res), *blocks.back());
    }
    epilogue = std::make_unique<detail::DiscriminatorEpilogue<T, D>>(config, gen);
    this->register_module("b4", *epilogue);
  }
  explicit StyleGan2Discriminator(const StyleGan2DiscriminatorConfig& config, std::uint64_t seed = 0)
      : StyleGan2Discriminator(config, Philox{seed}) {}

  const StyleGan2DiscriminatorConfig& config() const { return config_; }

  // images (B, img_channels, size, size) -> logits (B, 1); B must split into stddev groups of min(B, group).
  template <class V>
  V operator()(const V& images) const {
    const auto& c = config_;
    pixsyn::detail::check(
        images.rank() == 4 && images.dim(1) == c.img_channels && images.dim(2) == c.size && images.dim(3) == c.size,
        "StyleGan2Discriminator: images have shape ", images.shape(), "; expected (batch, ", c.img_channels, ", ",
        c.size, ", ", c.size, ")");
    V x = images;
    for (const auto& block : blocks) x = (*block)(x);
    return (*epilogue)(x);
  }

 private:
  static const StyleGan2DiscriminatorConfig& checked(const StyleGan2DiscriminatorConfig& c) {
    pixsyn::detail::check(c.size >= 8 && c.size <= 1024 && (c.size & (c.size - 1)) == 0,
                          "StyleGan2Discriminator: size ", c.size, " is not a power of two in [8, 1024]");
    pixsyn::detail::check(c.img_channels >= 1 && c.channel_max >= 1 && c.channel_base >= c.size && c.mbstd_group >= 1 &&
                              c.mbstd_channels >= 1,
                          "StyleGan2Discriminator: img_channels ", c.img_channels, ", channel_max ", c.channel_max,
                          ", mbstd_group ", c.mbstd_group, " and mbstd_channels ", c.mbstd_channels,
                          " must be positive and channel_base ", c.channel_base, " at least the size ", c.size);
    pixsyn::detail::check(c.channels(4) % c.mbstd_channels == 0, "StyleGan2Discriminator: ", c.channels(4),
                          " channels at 4x4 do not split into ", c.mbstd_channels, " stddev sets");
    return c;
  }

  StyleGan2DiscriminatorConfig config_;

 public:
  std::vector<std::unique_ptr<detail::DiscriminatorBlock<T, D>>> blocks;  // "b<size>" ... "b8"
  std::unique_ptr<detail::DiscriminatorEpilogue<T, D>> epilogue;          // "b4"
};

}  // namespace pixsyn::nn
