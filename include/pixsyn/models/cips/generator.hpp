#pragma once
// cips::Generator<Config, T, Device>: the CIPS generator (Anokhin et al., CVPR 2021) with the official
// parameter names and the official eval (g_ema) forward, rendering any set of points. Layers compute on
// Tensor (inference) or Var (gradients reach every parameter) with the same code.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pixsyn/autograd/functions/layout.hpp"
#include "pixsyn/autograd/functions/permute.hpp"
#include "pixsyn/coords/grid.hpp"
#include "pixsyn/models/cips/config.hpp"
#include "pixsyn/nn/coordinate_input.hpp"
#include "pixsyn/nn/mapping.hpp"
#include "pixsyn/nn/styled_conv.hpp"
#include "pixsyn/ops/transfer.hpp"

namespace pixsyn::cips {

using nn::NoiseMode;
template <class T, class D = Cpu>
using NoiseSource = nn::NoiseSource<T, D>;

namespace detail {

// The CIPSres shortcut: a bias-free equalized 1x1 conv ("skip.0.weight", scale 1/sqrt(in)).
template <class T, class D>
class EqualConv1x1 : public nn::Module<T, D> {
 public:
  EqualConv1x1(std::int64_t in, std::int64_t out, Philox& gen) : weight(nn::init::normal<T, D>({out, in, 1, 1}, gen)) {
    this->register_parameter("weight", weight);
  }
  template <class V>
  V operator()(const V& x) const {
    const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(weight.dim(1))));
    return linear(x, mul(reshape(as_value<V>(weight), Shape{weight.dim(0), weight.dim(1)}), scale), V());
  }
  Var<T, D> weight;
};

// (conv2(conv1(x)) + shortcut(x)) / sqrt(2); the shortcut is the identity when the width is kept.
template <class T, class D>
class StyledResBlock : public nn::Module<T, D> {
 public:
  StyledResBlock(std::int64_t in, std::int64_t out, std::int64_t style_dim, nn::Activation act, Philox& gen)
      : conv1(in, out, style_dim, act, gen), conv2(out, out, style_dim, act, gen) {
    this->register_module("conv1", conv1);
    this->register_module("conv2", conv2);
    if (in != out) {
      skip.emplace_back(in, out, gen);
      this->register_module("skip", skip);
    }
  }
  template <class V>
  V operator()(const V& x, const V& w, const Tensor<T, D>& noise1, const Tensor<T, D>& noise2) const {
    const V y = conv2(conv1(x, w, noise1), w, noise2);
    const V shortcut = skip.empty() ? x : skip[0](x);
    return div(add(y, shortcut), static_cast<T>(std::sqrt(2.0)));
  }
  nn::StyledConv<T, D> conv1, conv2;
  nn::ModuleList<EqualConv1x1<T, D>> skip;
};

}  // namespace detail

template <Config C, class T = float, class D = Cpu>
class Generator : public nn::Module<T, D> {
  static_assert(C.size >= 4 && (C.size & (C.size - 1)) == 0, "cips::Config: size must be a power of two >= 4");
  static_assert(C.blocks() <= max_blocks, "cips::Config: size must be at most 2048");
  static_assert(C.hidden > 0 && C.style_dim > 0, "cips::Config: hidden and style_dim must be positive");
  static_assert(C.mapping_layers >= 0, "cips::Config: mapping_layers must be >= 0");
  static_assert(C.mapping_lr_mul > 0, "cips::Config: mapping_lr_mul must be positive");
  static_assert(C.explicit_channels_valid(),
                "cips::Config: explicit channels must give a positive width for every block 0 .. log2(size)-2");
  static_assert(std::is_floating_point_v<T>, "cips::Generator: T must be float or double");

 public:
  static constexpr Config config = C;
  using value_type = T;

  explicit Generator(std::uint64_t seed = 0) : Generator(Philox{seed}) {}
  explicit Generator(Philox gen) : style(C.style_dim, C.mapping_layers, C.mapping_lr_mul, gen) {
    if constexpr (C.has_fourier()) {
      lff = std::make_unique<nn::FourierFeatures<T, D>>(C.hidden, gen);
      this->register_module("lff", *lff);
    }
    if constexpr (C.has_learned()) {
      emb = std::make_unique<nn::CoordinateEmbedding<T, D>>(C.hidden, C.size, gen);
      this->register_module("emb", *emb);
    }
    std::int64_t width = C.channel(0);
    if constexpr (C.topology == Topology::residual) {
      first = std::make_unique<nn::StyledConv<T, D>>(C.input_width(), width, C.style_dim, C.activation, gen);
      residual_children.add(*first);
      for (int i = 0; i < C.blocks(); ++i) {
        blocks.push_back(
            std::make_unique<detail::StyledResBlock<T, D>>(width, C.channel(i), C.style_dim, C.activation, gen));
        residual_children.add(*blocks.back());
        width = C.channel(i);
      }
      this->register_module("linears", residual_children);
    } else {
      first = std::make_unique<nn::StyledConv<T, D>>(C.input_width(), width, C.style_dim, C.activation, gen);
      this->register_module("conv1", *first);
      for (int i = 0; i < C.blocks(); ++i) {
        linears.emplace_back(width, C.channel(i), C.style_dim, C.activation, gen);
        linears.emplace_back(C.channel(i), C.channel(i), C.style_dim, C.activation, gen);
        width = C.channel(i);
        if (C.topology == Topology::skips) to_rgbs.emplace_back(width, C.style_dim, gen);
      }
      this->register_module("linears", linears);
    }
    if constexpr (C.topology == Topology::skips) {
      this->register_module("to_rgbs", to_rgbs);
    } else {
      to_rgb_last = std::make_unique<nn::ToRgb<T, D>>(width, C.style_dim, gen);
      this->register_module("to_rgb_last", *to_rgb_last);
    }
    this->register_module("style", style);
  }

  // z (B, style_dim) -> w (B, style_dim)
  template <class V>
  V map(const V& z) const {
    pixsyn::detail::check(z.rank() == 2 && z.dim(1) == C.style_dim, "cips::Generator::map: z has shape ", z.shape(),
                          "; expected (batch, ", C.style_dim, ")");
    return style(z);
  }

  // The average w over `samples` latents z ~ N(0, I) drawn from `gen`: the truncation centre.
  Tensor<T, D> mean_w(std::int64_t samples, Philox gen) const {
    pixsyn::detail::check(samples > 0, "cips::Generator::mean_w: samples must be positive, got ", samples);
    return mean(map(Tensor<T, D>::randn({samples, C.style_dim}, gen)), {0});
  }

  // The per-point input features (N, input_width) of points xy (N, 2).
  template <class V>
  V features(const V& xy) const {
    if constexpr (C.embedding == Embedding::fourier_and_learned)
      return concat(std::vector<V>{(*lff)(xy), (*emb)(xy)}, 1);
    else if constexpr (C.has_fourier())
      return (*lff)(xy);
    else
      return (*emb)(xy);
  }

  // Renders points for each style: w (B, style_dim) and xy (P, 2) shared by the batch, or (B, P, 2) one
  // set per sample -> RGB (B, P, 3). Noise is drawn per StyledConv from `noise`.
  template <class V>
  V synthesize(const V& w, const V& xy, const NoiseSource<T, D>& noise = {}) const {
    check_styles(w);
    const std::int64_t batch = w.dim(0);
    const bool shared = xy.rank() == 2;
    pixsyn::detail::check((shared || (xy.rank() == 3 && xy.dim(0) == batch)) && xy.dim(-1) == 2,
                          "cips::Generator::synthesize: points have shape ", xy.shape(), "; expected (P, 2) or (",
                          batch, ", P, 2)");
    const std::int64_t points = xy.dim(-2);
    V x = features(shared ? xy : reshape(xy, Shape{batch * points, 2}));
    x = shared ? broadcast_to(reshape(x, Shape{1, points, C.input_width()}), Shape{batch, points, C.input_width()})
               : reshape(x, Shape{batch, points, C.input_width()});
    return layers(x, w, noise);
  }

  // The official training-mode forward on the full size x size grid (cips.md §4.3), which full-image
  // training runs: the learned embedding enters as the raw table, one vector per pixel, where eval
  // samples it bilinearly. w (B, style_dim) -> images (B, 3, size, size).
  template <class V>
  V synthesize_training(const V& w, const NoiseSource<T, D>& noise = {}) const {
    check_styles(w);
    const std::int64_t batch = w.dim(0), points = std::int64_t(C.size) * C.size;
    std::vector<V> parts;
    if constexpr (C.has_fourier()) parts.push_back((*lff)(as_constant<V>(training_grid())));
    if constexpr (C.has_learned())
      parts.push_back(transpose(reshape(as_value<V>(emb->input), Shape{C.hidden, points}), 0, 1));
    const V x = parts.size() == 1 ? parts[0] : concat(parts, 1);
    // The first layer takes the features once for the whole batch: a copy per sample would be the largest
    // tensor of the training graph (B, P, 2·hidden).
    return permute(
        reshape(layers(reshape(x, Shape{1, points, C.input_width()}), w, noise), Shape{batch, C.size, C.size, 3}),
        {0, 3, 1, 2});
  }

 private:
  template <class V>
  static void check_styles(const V& w) {
    pixsyn::detail::check(w.rank() == 2 && w.dim(1) == C.style_dim, "cips::Generator: w has shape ", w.shape(),
                          "; expected (batch, ", C.style_dim, ")");
  }

  // The size x size grid's points (size², 2) on device D, made on first use: a training run renders it
  // every step.
  const Tensor<T, D>& training_grid() const {
    std::call_once(training_grid_once_,
                   [&] { training_grid_ = pixsyn::detail::on_device<D>(coords::grid<T>(C.size, C.size).xy); });
    return training_grid_;
  }
  mutable std::once_flag training_grid_once_;
  mutable Tensor<T, D> training_grid_;

  // The StyledConv stack and RGB head: per-point input features x (B, P, input_width), or (1, P, input_width)
  // shared by the batch of w -> RGB (B, P, 3).
  template <class V>
  V layers(V x, const V& w, const NoiseSource<T, D>& noise) const {
    const std::int64_t batch = w.dim(0), points = x.dim(1);
    int layer = 0;
    auto next_noise = [&] { return noise.draw(layer++, batch, points); };
    x = (*first)(x, w, next_noise());
    if constexpr (C.topology == Topology::residual) {
      for (const auto& block : blocks) {
        const auto n1 = next_noise();
        const auto n2 = next_noise();
        x = (*block)(x, w, n1, n2);
      }
      return (*to_rgb_last)(x, w);
    } else {
      V rgb;
      for (int i = 0; i < C.blocks(); ++i) {
        x = linears[2 * i](x, w, next_noise());
        x = linears[2 * i + 1](x, w, next_noise());
        if constexpr (C.topology == Topology::skips)
          rgb = rgb.defined() ? add(rgb, to_rgbs[i](x, w)) : to_rgbs[i](x, w);
      }
      if constexpr (C.topology == Topology::skips)
        return rgb;
      else
        return (*to_rgb_last)(x, w);
    }
  }

 public:
  std::unique_ptr<nn::FourierFeatures<T, D>> lff;
  std::unique_ptr<nn::CoordinateEmbedding<T, D>> emb;
  std::unique_ptr<nn::StyledConv<T, D>> first;  // "conv1" (skips, base) or "linears.0" (residual)
  nn::ModuleList<nn::StyledConv<T, D>> linears;
  nn::NumberedChildren<T, D> residual_children;
  std::vector<std::unique_ptr<detail::StyledResBlock<T, D>>> blocks;
  nn::ModuleList<nn::ToRgb<T, D>> to_rgbs;
  std::unique_ptr<nn::ToRgb<T, D>> to_rgb_last;
  nn::Mapping<T, D> style;
};

// w -> mean_w + psi (w - mean_w): truncation in w space (the notebook's recipe; cips.md §9).
using nn::truncate;

}  // namespace pixsyn::cips
