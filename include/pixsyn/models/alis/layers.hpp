#pragma once
// ALIS's own modules, named as in the official state dict (spec alis.md §1.3-§1.7, §7): the
// patch-wise 3x3 synthesis layer ("conv0", "conv1"), ToRGB ("torgb"), the CoordConst or constant
// input ("b4.input"), the coordinate fuser ("coords_fuser0") and the synthesis block ("b{r}").
// Everything runs in patch layout (models/alis/anchors.hpp): x is (B * g, C, H, W / g). The
// equalized linear affines come from nn/; the modulation is ALIS's own (per column, never folded into
// the weights), and so are the layers around it.
#include <cmath>
#include <cstdint>
#include <memory>
#include <numbers>
#include <vector>

#include "pixsyn/autograd/functions/activation.hpp"
#include "pixsyn/autograd/functions/arithmetic.hpp"
#include "pixsyn/autograd/functions/conv.hpp"
#include "pixsyn/autograd/functions/layout.hpp"
#include "pixsyn/autograd/functions/patches.hpp"
#include "pixsyn/autograd/functions/upfirdn2d.hpp"
#include "pixsyn/models/alis/anchors.hpp"
#include "pixsyn/models/alis/coordinates.hpp"
#include "pixsyn/nn/equal_linear.hpp"

namespace pixsyn::alis {

// The frames a forward renders: their left borders (in patches, one per sample) and the strip
// geometry. weights(W) are the anchor interpolation weights of a layer W columns wide.
template <class T>
struct Frames {
  std::vector<std::int64_t> delta;
  int patches = 2;
  int anchor_distance = 4;

  std::int64_t batch() const { return static_cast<std::int64_t>(delta.size()); }
  Tensor<T> weights(std::int64_t width) const { return anchor_weights<T>(delta, width, patches, anchor_distance); }
  // The coordinate channels of a layer size x size, in patch layout, where the basis is.
  template <class D>
  Tensor<T, D> coordinates(const Tensor<T, D>& basis, std::int64_t size) const {
    return detail::on_device<D>(coordinate_embedding(detail::on_host(basis), delta, size, patches, anchor_distance));
  }
};

namespace detail {

// The styles (B, 3, C) of the anchor latents w3 (B, 3, w_dim) through an affine.
template <class V, class T, class D>
V anchor_styles(const nn::EqualLinear<T, D>& affine, const V& w3) {
  const std::int64_t batch = w3.dim(0);
  const V s = affine(reshape(w3, Shape{batch * 3, w3.dim(2)}));
  return reshape(s, Shape{batch, 3, s.dim(1)});
}

// x (B * g, C, H, W / g) scaled per column by the interpolated styles (B, 3, C).
template <class V, class T>
V modulate(const V& x, const V& styles, const Frames<T>& frames) {
  return mul(x, interpolate_styles(styles, frames.weights(x.dim(3) * frames.patches), frames.patches));
}

// The patches (g, ...) of one frame repeated for every sample of a batch: (batch * g, ...).
template <class V>
V repeat_patches(const V& one, std::int64_t batch, std::int64_t patches) {
  auto index = Tensor<std::int64_t>::empty({batch * patches});
  for (std::int64_t i = 0; i < batch * patches; ++i) index.data()[i] = i % patches;
  return index_select(one, 0, index);
}

}  // namespace detail

// PatchWiseSynthesisLayer: styles of the three anchors (affine bias init 1), interpolated per column
// and multiplied into x (coordinate channels included); a 3x3 conv of the raw weight on every patch
// with zero padding 1 (up: a stride-2 transposed conv, then the [1,3,3,1] FIR with gain 4, pad 1);
// a fixed demodulation rsqrt(sum W_o^2 + 1e-8); + noise * noise_strength; clamp(lrelu(y + bias) *
// sqrt(2), +-clamp). In the official fp16 blocks the styles are first divided by their largest
// magnitude per anchor (normalize_styles).
template <class T, class D = Cpu>
class PatchwiseConv : public nn::Module<T, D> {
 public:
  PatchwiseConv(std::int64_t in, std::int64_t out, std::int64_t w_dim, std::int64_t resolution, bool up, double clamp,
                bool fp16_block, Philox& gen)
      : weight(nn::init::normal<T, D>({out, in, 3, 3}, gen)),
        noise_strength(nn::init::constant<T, D>({}, T(0))),
        bias(nn::init::constant<T, D>({out}, T(0))),
        resample_filter(detail::on_device<D>(setup_filter<T>({1, 3, 3, 1}))),
        noise_const(Tensor<T, D>::randn({resolution, resolution}, gen)),
        affine(w_dim, in, gen, nn::EqualLinearOptions{.bias_init = 1}),
        up_(up),
        clamp_(clamp),
        fp16_block_(fp16_block) {
    this->register_parameter("weight", weight);
    this->register_parameter("noise_strength", noise_strength);
    this->register_parameter("bias", bias);
    this->register_buffer("resample_filter", resample_filter);
    this->register_buffer("noise_const", noise_const);
    this->register_module("affine", affine);
  }

  std::int64_t in_channels() const { return weight.dim(1); }
  std::int64_t out_channels() const { return weight.dim(0); }
  std::int64_t resolution() const { return noise_const.dim(0); }
  bool upsamples() const { return up_; }

  // x (B * g, in, H, W / g), w3 (B, 3, w_dim), noise (B * g, 1, H', W' / g) or undefined -> (B * g, out, H', W' / g)
  template <class V>
  V operator()(const V& x, const V& w3, const Frames<T>& frames, const Tensor<T, D>& noise) const {
    V styles = detail::anchor_styles(affine, w3);
    if (fp16_block_) styles = normalize_styles(styles);
    const V xm = detail::modulate(x, styles, frames);
    const V w = as_value<V>(weight);
    V y;
    if (up_) {
      y = conv_transpose2d(xm, permute(w, {1, 0, 2, 3}), {.stride = 2});
      y = upfirdn2d(y, resample_filter, {.pad_x0 = 1, .pad_x1 = 1, .pad_y0 = 1, .pad_y1 = 1, .gain = 4});
    } else {
      y = conv2d(xm, w, {.padding = 1});
    }
    const V demod = rsqrt(add(sum(square(w), {1, 2, 3}), static_cast<T>(1e-8)));
    y = mul(y, reshape(demod, Shape{1, out_channels(), 1, 1}));
    if (noise.defined())
      y = add(y, mul(as_constant<V>(noise), reshape(as_value<V>(noise_strength), Shape{1, 1, 1, 1})));
    return bias_leaky_relu(y, as_value<V>(bias), 1,
                           LeakyReluOptions{.slope = 0.2, .gain = std::numbers::sqrt2, .clamp = clamp_});
  }

  Var<T, D> weight, noise_strength, bias;
  Tensor<T, D> resample_filter, noise_const;
  nn::EqualLinear<T, D> affine;

 private:
  bool up_;
  double clamp_;
  bool fp16_block_;
};

// ToRGBLayer: interpolated styles times 1/sqrt(C) (affine bias init 1), a 1x1 conv without
// demodulation, + bias, clamped to +-clamp.
template <class T, class D = Cpu>
class ToRgb : public nn::Module<T, D> {
 public:
  ToRgb(std::int64_t in, std::int64_t w_dim, double clamp, Philox& gen)
      : weight(nn::init::normal<T, D>({3, in, 1, 1}, gen)),
        bias(nn::init::constant<T, D>({3}, T(0))),
        affine(w_dim, in, gen, nn::EqualLinearOptions{.bias_init = 1}),
        clamp_(clamp) {
    this->register_parameter("weight", weight);
    this->register_parameter("bias", bias);
    this->register_module("affine", affine);
  }

  // x (B * g, C, H, W / g), w3 (B, 3, w_dim) -> (B * g, 3, H, W / g)
  template <class V>
  V operator()(const V& x, const V& w3, const Frames<T>& frames) const {
    const T gain = static_cast<T>(1 / std::sqrt(static_cast<double>(weight.dim(1))));
    const V y = conv2d(detail::modulate(x, mul(detail::anchor_styles(affine, w3), gain), frames), as_value<V>(weight));
    return bias_leaky_relu(y, as_value<V>(bias), 1, LeakyReluOptions{.slope = 1, .gain = 1, .clamp = clamp_});
  }

  Var<T, D> weight, bias;
  nn::EqualLinear<T, D> affine;

 private:
  double clamp_;
};

// The official GridInput ("b4.input.input"): a learned vertical profile input_column (C, R0),
// the same in every column, times the interpolated styles of its own affine (bias init 0), followed by
// the fixed coordinate channels of `basis` at R0 x R0 (the CoordConst).
template <class T, class D = Cpu>
class CoordConst : public nn::Module<T, D> {
 public:
  CoordConst(std::int64_t channels, std::int64_t resolution, std::int64_t w_dim, Philox& gen)
      : input_column(nn::init::normal<T, D>({channels, resolution}, gen)),
        basis(
            detail::on_device<D>(logarithmic_basis<T>(static_cast<int>(resolution), static_cast<int>(channels), true))),
        affine(w_dim, channels, gen) {
    this->register_parameter("input_column", input_column);
    this->register_buffer("basis", basis);
    this->register_module("affine", affine);
  }

  std::int64_t channels() const { return input_column.dim(0) + 2 * basis.dim(0); }

  template <class V>
  V operator()(const V& w3, const Frames<T>& frames) const {
    const std::int64_t c = input_column.dim(0), r0 = input_column.dim(1);
    const V column = reshape(as_value<V>(input_column), Shape{1, c, r0, 1});
    const V gamma = interpolate_styles(detail::anchor_styles(affine, w3), frames.weights(r0), frames.patches);
    const V latents = mul(column, gamma);  // (B * g, C, R0, R0 / g)
    return concat(std::vector<V>{latents, as_constant<V>(frames.coordinates(basis, r0))}, 1);
  }

  Var<T, D> input_column;
  Tensor<T, D> basis;
  nn::EqualLinear<T, D> affine;
};

// The first block's input module ("b4.input"): the CoordConst as its child "input", or a learned
// constant (C, R0, R0) as its parameter "input".
template <class T, class D = Cpu>
class InputLayer : public nn::Module<T, D> {
 public:
  InputLayer(bool coord_const, std::int64_t channels, std::int64_t resolution, std::int64_t w_dim, Philox& gen) {
    if (coord_const) {
      coord = std::make_unique<CoordConst<T, D>>(channels, resolution, w_dim, gen);
      this->register_module("input", *coord);
    } else {
      constant = nn::init::normal<T, D>({channels, resolution, resolution}, gen);
      this->register_parameter("input", constant);
    }
  }

  bool modulated() const { return coord != nullptr; }
  std::int64_t channels() const { return coord ? coord->channels() : constant.dim(0); }

  // The input (B * g, channels, R0, R0 / g); w3 is read by the CoordConst only.
  template <class V>
  V operator()(const V& w3, const Frames<T>& frames) const {
    if (coord) return (*coord)(w3, frames);
    const std::int64_t c = constant.dim(0), r0 = constant.dim(1);
    const V one = patches_to_batch(reshape(as_value<V>(constant), Shape{1, c, r0, r0}), frames.patches);
    return detail::repeat_patches(one, frames.batch(), frames.patches);
  }

  std::unique_ptr<CoordConst<T, D>> coord;  // the CoordConst input, or
  Var<T, D> constant;                       // the constant input
};

// ModulatedCoordFuser with the fixed logarithmic basis ("coords_fuser0"): the coordinate channels
// of `basis` concatenated after the features.
template <class T, class D = Cpu>
class CoordFuser : public nn::Module<T, D> {
 public:
  explicit CoordFuser(Tensor<T, D> fixed_basis) : basis(std::move(fixed_basis)) {
    this->register_buffer("basis", basis);
  }

  std::int64_t channels() const { return 2 * basis.dim(0); }

  template <class V>
  V operator()(const V& x, const Frames<T>& frames) const {
    return concat(std::vector<V>{x, as_constant<V>(frames.coordinates(basis, x.dim(2)))}, 1);
  }

  Tensor<T, D> basis;
};

// A synthesis block ("b{r}"): b4 is [input,] conv1, torgb; later blocks are [coords_fuser0,] conv0
// (upsampling from r / 2 unless the block runs at the input resolution), conv1, torgb. The image
// path adds each ToRGB to the previous image, upsampled patch by patch (zero insertion, pad (2, 1),
// the FIR with gain 4).
template <class T, class D = Cpu>
class Block : public nn::Module<T, D> {
 public:
  Block() : resample_filter(detail::on_device<D>(setup_filter<T>({1, 3, 3, 1}))) {
    this->register_buffer("resample_filter", resample_filter);
  }

  Tensor<T, D> resample_filter;
  std::unique_ptr<InputLayer<T, D>> input;     // b4 only
  std::unique_ptr<CoordFuser<T, D>> fuser;     // "coords_fuser0": blocks after b4 with coordinate fusers
  std::unique_ptr<PatchwiseConv<T, D>> conv0;  // every block but b4
  std::unique_ptr<PatchwiseConv<T, D>> conv1;
  std::unique_ptr<ToRgb<T, D>> torgb;

  // Registers the members made so far, in the official order.
  void register_members() {
    if (input) this->register_module("input", *input);
    if (fuser) this->register_module("coords_fuser0", *fuser);
    if (conv0) this->register_module("conv0", *conv0);
    this->register_module("conv1", *conv1);
    this->register_module("torgb", *torgb);
  }
};

}  // namespace pixsyn::alis
