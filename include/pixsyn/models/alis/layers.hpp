#pragma once
// ALIS's own modules, named as in the official state dict (spec alis.md §1.3-§1.7, §7): the
// patch-wise 3x3 synthesis layer ("conv0", "conv1"), ToRGB ("torgb"), the CoordConst or constant
// input ("b4.input"), the coordinate fuser ("coords_fuser0") and the synthesis block ("b{r}").
// Everything runs in patch layout (models/alis/anchors.hpp): x is (B * g, C, H, W / g). The
// equalized linear affines come from nn/; the modulation is ALIS's own (per column, never folded into
// the weights), and so are the layers around it.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <numbers>
#include <type_traits>
#include <utility>
#include <vector>

#include "pixsyn/autograd/functions/activation.hpp"
#include "pixsyn/autograd/functions/arithmetic.hpp"
#include "pixsyn/autograd/functions/conv.hpp"
#include "pixsyn/autograd/functions/layout.hpp"
#include "pixsyn/autograd/functions/patches.hpp"
#include "pixsyn/autograd/functions/upfirdn2d.hpp"
#include "pixsyn/backend/cuda/alis.hpp"
#include "pixsyn/core/philox.hpp"
#include "pixsyn/models/alis/anchors.hpp"
#include "pixsyn/models/alis/coordinates.hpp"
#include "pixsyn/nn/equal_linear.hpp"
#include "pixsyn/nn/noise.hpp"

namespace pixsyn::alis {

// The frames a forward renders: their left borders (in patches, one per sample), the index of their
// anchor strip along a panorama (where seeded noise continues) and the strip geometry, and the per-call inputs
// of the layers made from them on D: the anchor interpolation weights of a layer W columns wide (made once per
// width, shared by the layers of that width), the coordinate channels and the seeded noise. On the GPU they are
// made there from one copy of the left borders and the strip, which the kernels read from device memory; the
// host only makes them for the CPU.
template <class T, class D = Cpu>
class Frames {
 public:
  Frames(std::vector<std::int64_t> delta, int patches, int anchor_distance, std::int64_t strip = 0)
      : delta_(std::move(delta)), patches_(patches), anchor_distance_(anchor_distance), strip_(strip) {
    if constexpr (std::is_same_v<D, Cuda>) {
      check_frames();
      device_inputs_ = to_device(Tensor<std::int64_t>::from(device_inputs(delta_, strip_), Shape{batch() + 1}));
    } else {
      check_strip(strip_);  // the CPU's layer inputs check the left borders
    }
  }
  // On the GPU, the device inputs already there: `inputs` holds device_inputs(delta, strip). The work a
  // forward queues reads the frames only from it, so a recorded forward (render::AlisFrameRenderer) renders
  // other frames when it is rewritten.
  Frames(std::vector<std::int64_t> delta, int patches, int anchor_distance, std::int64_t strip,
         Tensor<std::int64_t, D> inputs) requires std::is_same_v<D, Cuda> : delta_(std::move(delta)),
                                                                            patches_(patches),
                                                                            anchor_distance_(anchor_distance),
                                                                            strip_(strip),
                                                                            device_inputs_(std::move(inputs)) {
    check_frames();
    pixsyn::detail::check(device_inputs_.shape() == Shape{batch() + 1}, "alis::Frames: device inputs of shape ",
                          device_inputs_.shape(), " for ", batch(), " frames; expected (", batch() + 1, ")");
  }

  // What the GPU kernels read: the left borders, then the strip.
  static std::vector<std::int64_t> device_inputs(const std::vector<std::int64_t>& delta, std::int64_t strip) {
    check_strip(strip);
    std::vector<std::int64_t> out(delta);
    out.push_back(strip);
    return out;
  }

  std::int64_t batch() const { return static_cast<std::int64_t>(delta_.size()); }
  const std::vector<std::int64_t>& delta() const { return delta_; }
  int patches() const { return patches_; }
  std::int64_t strip() const { return strip_; }
  backend::AlisFrameGeometry geometry(std::int64_t size) const { return {size, patches_, anchor_distance_}; }

  // (B, width, 3) on D (anchor_weights).
  const Tensor<T, D>& weights(std::int64_t width) const {
    auto it = weights_.find(width);
    if (it != weights_.end()) return it->second;
    Tensor<T, D> w;
    if constexpr (std::is_same_v<D, Cuda>) {
      w = Tensor<T, D>::empty({batch(), width, 3});
      backend::cuda::alis_anchor_weights(device_inputs_.data(), batch(), geometry(width), w.data());
    } else {
      w = anchor_weights<T>(delta_, width, patches_, anchor_distance_);
    }
    return weights_.emplace(width, std::move(w)).first->second;
  }

  // The coordinate channels of a layer size x size, in patch layout, where the basis is (coordinate_embedding).
  Tensor<T, D> coordinates(const Tensor<T, D>& basis, std::int64_t size) const {
    if constexpr (std::is_same_v<D, Cuda>) {
      auto out = Tensor<T, D>::empty({batch() * patches_, 2 * basis.dim(0), size, size / patches_});
      backend::cuda::alis_coordinates(basis.data(), basis.dim(0), device_inputs_.data(), batch(), geometry(size),
                                      out.data());
      return out;
    } else {
      return coordinate_embedding(basis, delta_, size, patches_, anchor_distance_);
    }
  }

  // On the GPU: concat(x, coordinates(basis, x.dim(2))) * gamma in one pass (CoordFuser::modulated), x read
  // through its pending activation if there is one.
  Tensor<T, D> modulated_coordinates(const Tensor<T, D>& x, const Tensor<T, D>& basis, const Tensor<T, D>& gamma,
                                     const PendingBiasLeakyRelu<T, D>* x_activation = nullptr) const {
    const std::int64_t n = x.dim(0), c = x.dim(1) + 2 * basis.dim(0), size = x.dim(2);
    pixsyn::detail::check(gamma.shape() == Shape{n, c, 1, x.dim(3)}, "alis: styles of shape ", gamma.shape(),
                          " for features ", x.shape(), " and ", 2 * basis.dim(0), " coordinate channels");
    const auto act = x_activation && x_activation->bias.defined()
                         ? pixsyn::detail::bias_leaky_relu_args(x_activation->bias, x.dim(1), x_activation->options,
                                                                "alis: the coordinate fuser")
                         : backend::cuda::BiasLeakyRelu<T>{};
    auto out = Tensor<T, D>::empty({n, c, size, x.dim(3)});
    backend::cuda::alis_modulated_coordinates(x.data(), act, x.dim(1), basis.data(), basis.dim(0),
                                              device_inputs_.data(), batch(), geometry(size), gamma.data(), out.data());
    return out;
  }

  // The seeded N(0, 1) noise (B * g, 1, size, size / g) of convolution `layer` on the frames' strip, in patch
  // layout: a function of the seed, the layer, the sample and the pixel's place along the strip
  // (backend::AlisFrameGeometry::noise_number), so that adjacent frames and strips continue each other.
  // The sample is the index in the whole batch under nn::ShardedNoise (a data-parallel rank's shard: the
  // noise one process drawing the whole batch draws for those samples), else the local one.
  Tensor<T, D> seeded_noise(std::uint64_t seed, std::uint64_t layer, std::int64_t size) const {
    const auto g = geometry(size);
    const nn::SampleShard shard = nn::current_sample_shard();
    constexpr std::uint64_t most = backend::max_noise_samples;
    const auto last = static_cast<std::uint64_t>(std::max<std::int64_t>(batch() - 1, 0));
    pixsyn::detail::check(
        shard.offset < most && shard.stride < most && last < most && shard.offset + shard.stride * last < most,
        "alis: seeded noise for ", batch(), " samples from ", shard.offset, " in steps of ", shard.stride,
        " reaches past the ", most, " samples it has");
    auto out = Tensor<T, D>::empty({batch() * patches_, 1, size, g.patch_width()});
    if constexpr (std::is_same_v<D, Cuda>) {
      backend::cuda::alis_seeded_noise(device_inputs_.data(), batch(), g, seed, layer, device_inputs_.data() + batch(),
                                       shard.offset, shard.stride, out.data());
    } else {
      T* p = out.data();
      for (std::int64_t b = 0; b < batch(); ++b) {
        const std::uint64_t offset =
            backend::alis_noise_offset(layer, shard.offset + shard.stride * static_cast<std::uint64_t>(b));
        for (std::int64_t patch = 0; patch < patches_; ++patch)
          for (std::int64_t i = 0; i < size; ++i)
            for (std::int64_t j = 0; j < g.patch_width(); ++j)
              *p++ = static_cast<T>(pixsyn::detail::philox_normal(
                  seed, offset, g.noise_number(strip_, delta_[b], i, patch * g.patch_width() + j)));
      }
    }
    return out;
  }

 private:
  // Checked on the patch grid (a side of g columns), which every layer's side refines.
  void check_frames() const {
    for (const std::int64_t d : delta_) check_frame(geometry(patches_), d);
    check_strip(strip_);
  }
  static void check_strip(std::int64_t strip) {
    pixsyn::detail::check(strip >= 0, "alis: the strip index ", strip, " is negative");
  }

  std::vector<std::int64_t> delta_;
  int patches_, anchor_distance_;
  std::int64_t strip_;
  Tensor<std::int64_t, D> device_inputs_;  // D = Cuda: device_inputs(delta_, strip_) there, read by the kernels
  mutable std::map<std::int64_t, Tensor<T, D>> weights_;
};

namespace detail {

// The styles (B, 3, C) of the anchor latents w3 (B, 3, w_dim) through an affine.
template <class V, class T, class D>
V anchor_styles(const nn::EqualLinear<T, D>& affine, const V& w3) {
  const std::int64_t batch = w3.dim(0);
  const V s = affine(reshape(w3, Shape{batch * 3, w3.dim(2)}));
  return reshape(s, Shape{batch, 3, s.dim(1)});
}

// The styles (B, 3, C) interpolated for every column of a layer of patches `width` wide: (B * g, C, 1, width).
template <class V, class T, class D>
V column_styles(const V& styles, const Frames<T, D>& frames, std::int64_t width) {
  return interpolate_styles(styles, frames.weights(width * frames.patches()), frames.patches());
}

// The activation a layer leaves pending on its output in inference (Tensor), or none (Var: undefined).
template <class V>
using Pending = PendingBiasLeakyRelu<typename V::value_type, typename V::device_type>;

// conv2d(x modulated per column by gamma (B * g, C, 1, W / g), w): in inference (Tensor) one op whose GPU
// path forms the values as the convolution reads x, through x's pending activation if any (equal bit for bit);
// in training the differentiable two.
template <class V>
V modulated_conv2d(const V& x, const V& gamma, const V& w, Conv2dOptions options, const Pending<V>* x_activation) {
  using T = typename V::value_type;
  using D = typename V::device_type;
  if constexpr (std::is_same_v<V, Tensor<T, D>>)
    return conv2d_scaled(x, gamma, w, options, x_activation);
  else
    return conv2d(mul(x, gamma), w, options);
}

// x with its pending activation applied (Var: never pending).
template <class V>
V activated(const V& x, const Pending<V>* x_activation) {
  using T = typename V::value_type;
  using D = typename V::device_type;
  if constexpr (std::is_same_v<V, Tensor<T, D>>)
    return apply_pending(x, x_activation);
  else
    return x;
}

// The patches (g, ...) of one frame repeated for every sample of a batch: (batch * g, ...).
template <class V>
V repeat_patches(const V& one, std::int64_t batch) {
  if (batch == 1) return one;
  Shape shape = one.shape();
  const V repeated = broadcast_to(reshape(one, Shape{1, one.numel()}), Shape{batch, one.numel()});
  shape[0] *= batch;
  return reshape(repeated, shape);
}

}  // namespace detail

// ModulatedCoordFuser with the fixed logarithmic basis ("coords_fuser0"): the coordinate channels
// of `basis` concatenated after the features.
template <class T, class D = Cpu>
class CoordFuser : public nn::Module<T, D> {
 public:
  explicit CoordFuser(Tensor<T, D> fixed_basis) : basis(std::move(fixed_basis)) {
    this->register_buffer("basis", basis);
  }

  std::int64_t channels() const { return 2 * basis.dim(0); }

  // x (B * g, C, H, W / g) -> (B * g, C + 2m, H, W / g)
  template <class V>
  V operator()(const V& x, const Frames<T, D>& frames) const {
    return concat(std::vector<V>{x, as_constant<V>(frames.coordinates(basis, x.dim(2)))}, 1);
  }

  // The same times the interpolated styles gamma (B * g, C + 2m, 1, W / g) of the convolution that reads
  // it, x through its pending activation (inference only); in inference on the GPU one pass (no concatenated
  // copy, no separate product), equal bit for bit.
  template <class V>
  V modulated(const V& x, const V& gamma, const Frames<T, D>& frames,
              const detail::Pending<V>* x_activation = nullptr) const {
    if constexpr (std::is_same_v<V, Tensor<T, Cuda>>)
      return frames.modulated_coordinates(x, basis, gamma, x_activation);
    else
      return mul((*this)(detail::activated(x, x_activation), frames), gamma);
  }

  Tensor<T, D> basis;
};

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

  // x (B * g, in, H, W / g), w3 (B, 3, w_dim), noise (B * g, 1, H', W' / g) or undefined -> (B * g, out, H', W' / g);
  // with a fuser, x holds the features before its coordinate channels (in - 2m of them). Inference (Tensor) may
  // pass x's pending activation (x_activation), and `defer` to receive this layer's own instead of applying it
  // (a 3x3 layer defers; an up layer applies it in its blur and leaves *defer undefined).
  template <class V>
  V operator()(const V& x, const V& w3, const Frames<T, D>& frames, const Tensor<T, D>& noise,
               const CoordFuser<T, D>* fuser = nullptr, const detail::Pending<V>* x_activation = nullptr,
               detail::Pending<V>* defer = nullptr) const {
    V styles = detail::anchor_styles(affine, w3);
    if (fp16_block_) styles = normalize_styles(styles);
    const V gamma = detail::column_styles(styles, frames, x.dim(3));
    const V wd = demodulated_weight<V>();
    const LeakyReluOptions activation{.slope = 0.2, .gain = std::numbers::sqrt2, .clamp = clamp_};
    V y;
    if (up_) {
      const V xm =
          fuser ? fuser->modulated(x, gamma, frames, x_activation) : mul(detail::activated(x, x_activation), gamma);
      y = conv_transpose2d(xm, wd, {.stride = 2});
      const Upfirdn2dOptions blur{.pad_x0 = 1, .pad_x1 = 1, .pad_y0 = 1, .pad_y1 = 1, .gain = 4};
      // In inference without noise the activation is applied as the blur stores its outputs (equal bit for bit).
      if constexpr (std::is_same_v<V, Tensor<T, D>>) {
        if (!noise.defined()) {
          if (defer) *defer = {};
          return upfirdn2d_bias_leaky_relu(y, resample_filter, blur, bias.value(), activation);
        }
      }
      y = upfirdn2d(y, resample_filter, blur);
    } else {
      y = fuser ? conv2d(fuser->modulated(x, gamma, frames, x_activation), wd, {.padding = 1})
                : detail::modulated_conv2d(x, gamma, wd, {.padding = 1}, x_activation);
    }
    if (noise.defined())
      y = add(y, mul(as_constant<V>(noise), reshape(as_value<V>(noise_strength), Shape{1, 1, 1, 1})));
    if constexpr (std::is_same_v<V, Tensor<T, D>>) {
      if (defer) {
        *defer = {bias.value(), activation};
        return y;
      }
    }
    return bias_leaky_relu(y, as_value<V>(bias), 1, activation);
  }

  Var<T, D> weight, noise_strength, bias;
  Tensor<T, D> resample_filter, noise_const;
  nn::EqualLinear<T, D> affine;

 private:
  // The demodulation scales output channels: folded into the weights (O x I x 9 products instead of one per
  // output value), which the convolution and the upsampling leave linear: (O, I, 3, 3), for the up layer's
  // transposed convolution (I, O, 3, 3). On the GPU in inference one launch.
  template <class V>
  V demodulated_weight() const {
    constexpr T eps = static_cast<T>(1e-8);
    if constexpr (std::is_same_v<V, Tensor<T, Cuda>>) {
      const Tensor<T, D>& w = weight.value();
      auto out = Tensor<T, D>::empty(up_ ? Shape{w.dim(1), w.dim(0), w.dim(2), w.dim(3)} : w.shape());
      backend::cuda::alis_demodulated_weight(w.data(), w.dim(0), w.dim(1), w.dim(2) * w.dim(3), eps, up_, out.data());
      return out;
    } else {
      const V w = as_value<V>(weight);
      const V demod = rsqrt(add(sum(square(w), {1, 2, 3}), eps));
      const V wd = mul(w, reshape(demod, Shape{out_channels(), 1, 1, 1}));
      return up_ ? permute(wd, {1, 0, 2, 3}) : wd;
    }
  }

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

  // x (B * g, C, H, W / g), w3 (B, 3, w_dim) -> (B * g, 3, H, W / g); x through its pending activation if any.
  template <class V>
  V operator()(const V& x, const V& w3, const Frames<T, D>& frames,
               const detail::Pending<V>* x_activation = nullptr) const {
    const T gain = static_cast<T>(1 / std::sqrt(static_cast<double>(weight.dim(1))));
    const V gamma = detail::column_styles(mul(detail::anchor_styles(affine, w3), gain), frames, x.dim(3));
    const V y = detail::modulated_conv2d(x, gamma, as_value<V>(weight), {}, x_activation);
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
  V operator()(const V& w3, const Frames<T, D>& frames) const {
    const std::int64_t c = input_column.dim(0), r0 = input_column.dim(1);
    const V column = reshape(as_value<V>(input_column), Shape{1, c, r0, 1});
    const V gamma = interpolate_styles(detail::anchor_styles(affine, w3), frames.weights(r0), frames.patches());
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
  V operator()(const V& w3, const Frames<T, D>& frames) const {
    if (coord) return (*coord)(w3, frames);
    const std::int64_t c = constant.dim(0), r0 = constant.dim(1);
    const V one = patches_to_batch(reshape(as_value<V>(constant), Shape{1, c, r0, r0}), frames.patches());
    return detail::repeat_patches(one, frames.batch());
  }

  std::unique_ptr<CoordConst<T, D>> coord;  // the CoordConst input, or
  Var<T, D> constant;                       // the constant input
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
