#pragma once
// CREPS's own modules, named as in the official state dict (spec creps.md §1, §4): the Fourier input
// ("b4.input"), the synthesis blocks ("b{r}", "block0", "block1": fc0, fc1, tores) and the per-pixel
// decoders (4 equalized linear layers K -> 2K -> 4K -> 2K -> K). The shared layers (mapping network,
// equalized linear, modulated FC) come from nn/ with StyleGAN3's names and gains.
#include <cmath>
#include <cstdint>
#include <memory>
#include <numbers>
#include <vector>

#include "pixsyn/autograd/functions/activation.hpp"
#include "pixsyn/autograd/functions/arithmetic.hpp"
#include "pixsyn/autograd/functions/layout.hpp"
#include "pixsyn/autograd/functions/permute.hpp"
#include "pixsyn/autograd/functions/reduce.hpp"
#include "pixsyn/coords/grid.hpp"
#include "pixsyn/nn/modulated_fc.hpp"
#include "pixsyn/ops/layout.hpp"
#include "pixsyn/ops/math.hpp"
#include "pixsyn/ops/transfer.hpp"

namespace pixsyn::creps {

// StyleGAN3's SynthesisLayer ("fc0", "fc1"): raw (out, in) weight, demodulated, then
// clamp(lrelu(y + bias) * sqrt(2), +-clamp).
inline nn::ModulatedFcSpec synthesis_layer_spec(double clamp) {
  return {.conv_weight = false,
          .gain = nn::ModulatedGain::none,
          .demodulate = true,
          .affine_name = "affine",
          .bias = true,
          .epilogue = {.slope = 0.2, .gain = std::numbers::sqrt2, .clamp = clamp}};
}

// ToResLayer ("tores"): styles scaled by 1/sqrt(in), no demodulation, then clamp(y + bias, +-clamp).
inline nn::ModulatedFcSpec tores_layer_spec(double clamp) {
  return {.conv_weight = false,
          .gain = nn::ModulatedGain::styles,
          .demodulate = false,
          .affine_name = "affine",
          .bias = true,
          .epilogue = {.slope = 1, .gain = 1, .clamp = clamp}};
}

namespace detail {

// The Fourier phases of the official input on D, (N, F) for host coordinates t (N) and frequencies f
// (1, F) on D, rounded as the official float32 code rounds them: theta = (t f) 2pi, each product its own op,
// so no multiply-add merges the roundings.
template <class T, class D>
Tensor<T, D> phases(const Tensor<T>& t, const Tensor<T, D>& f) {
  const auto column = pixsyn::detail::on_device<D>(reshape(t, Shape{t.numel(), 1}));
  return mul(mul(column, f), static_cast<T>(2 * std::numbers::pi));
}

// sin(theta), then the "cos" channels as the official computes them, sin(theta + pi/2) with theta + pi/2
// rounded (not cos), side by side along the last axis.
template <class T, class D>
Tensor<T, D> sin_cos_channels(const Tensor<T, D>& theta) {
  const Tensor<T, D> shifted = add(theta, static_cast<T>(std::numbers::pi / 2));
  return concat(std::vector<Tensor<T, D>>{sin(theta), sin(shifted)}, theta.rank() - 1);
}

}  // namespace detail

// "b4.input": the Fourier encoding of the coordinates, modulated by w.
//   bi-line (official): weight (1, C, 1, 2D), freqs (1, C/2 * D), affine w -> C * 2D. Slot s of axis
//     point t (s = 0 rows, 1 columns) carries channel c, thickness d:
//     sin(2pi t f[c' D + d] (+ pi/2 for c >= C/2)) * weight[c, sD + d] * a[c, sD + d] / sqrt(C).
//   dense (CREPS-NB, docs/creps.md): weight (1, C, 1, 1), freqs (2, C/2) (row and column frequencies),
//     affine w -> C; pixel (y, x) carries sin(2pi y f_r[c'] + 2pi x f_c[c'] (+ pi/2)) * weight[c] * a[c] / sqrt(C).
// coords (1, size, 2, 1) is the official buffer of training coordinates: it loads and saves, and
// pixsyn renders at the coordinates the caller gives instead. Coordinates are host tensors on every device;
// the Fourier features are computed on D with the official float32 roundings (detail::phases).
template <class T, class D = Cpu>
class InputLayer : public nn::Module<T, D> {
 public:
  InputLayer(std::int64_t channels, std::int64_t w_dim, std::int64_t thickness, bool dense, std::int64_t size,
             double bandwidth, Philox& gen)
      : weight(nn::init::normal<T, D>({1, channels, 1, dense ? 1 : 2 * thickness}, gen)),
        freqs(mul(Tensor<T, D>::randn(dense ? Shape{2, channels / 2} : Shape{1, channels / 2 * thickness}, gen),
                  static_cast<T>(bandwidth))),
        coords(training_coords(size)),
        affine(w_dim, dense ? channels : channels * 2 * thickness, gen, nn::EqualLinearOptions{.bias_init = 1}),
        thickness_(dense ? 1 : thickness) {
    this->register_parameter("weight", weight);
    this->register_buffer("freqs", freqs);
    this->register_buffer("coords", coords);
    this->register_module("affine", affine);
  }

  std::int64_t channels() const { return weight.dim(1); }

  // Bi-line input of one axis: coordinates t (N), slot 0 (rows) or 1 (columns) -> (B, N * D, C),
  // point n's D thickness slots as consecutive rows.
  template <class V>
  V axis(const V& w, const Tensor<T>& t, int slot) const {
    const std::int64_t c = channels(), half = c / 2, d = thickness_, n = t.numel(), batch = w.dim(0);
    // Channel c of thickness slot k reads frequency (c mod C/2) D + k: the phases (N, C/2, D) as (N, D, C/2).
    const Tensor<T, D> theta = permute(reshape(detail::phases(t, freqs), Shape{n, half, d}), {0, 2, 1});
    const Tensor<T, D> e = reshape(detail::sin_cos_channels(theta), Shape{1, n, d, c});
    // weight * affine(w): (B, C, 2D), this slot's D columns, laid out (B, 1, D, C) to scale e.
    const V a = reshape(affine(w), Shape{batch, c, 2 * d});
    const V m = mul(reshape(as_value<V>(weight), Shape{1, c, 2 * d}), a);
    const V ms = reshape(permute(slice(m, 2, slot * d, (slot + 1) * d), {0, 2, 1}), Shape{batch, 1, d, c});
    const V x = div(mul(as_constant<V>(e), ms), static_cast<T>(std::sqrt(static_cast<double>(c))));
    return reshape(x, Shape{batch, n * d, c});
  }

  // Dense input at points (ys[p], xs[p]) -> (B, P, C).
  template <class V>
  V dense(const V& w, const Tensor<T>& ys, const Tensor<T>& xs) const {
    const std::int64_t c = channels(), n = ys.numel(), batch = w.dim(0);
    // Row frequencies in freqs[0], column frequencies in freqs[1]; the two phases added, rounded.
    const Tensor<T, D> theta =
        add(detail::phases(ys, slice(freqs, 0, 0, 1)), detail::phases(xs, slice(freqs, 0, 1, 2)));
    const Tensor<T, D> e = reshape(detail::sin_cos_channels(theta), Shape{1, n, c});
    const V m = mul(reshape(as_value<V>(weight), Shape{1, 1, c}), reshape(affine(w), Shape{batch, 1, c}));
    return div(mul(as_constant<V>(e), m), static_cast<T>(std::sqrt(static_cast<double>(c))));
  }

 private:
  static Tensor<T, D> training_coords(std::int64_t size) {
    const auto t = coords::linspace<T>(T(0), T(1), size);
    auto out = Tensor<T>::empty({1, size, 2, 1});
    for (std::int64_t n = 0; n < size; ++n) out.data()[2 * n] = out.data()[2 * n + 1] = t.data()[n];
    return pixsyn::detail::on_device<D>(out);
  }

 public:
  Var<T, D> weight;
  Tensor<T, D> freqs, coords;
  nn::EqualLinear<T, D> affine;

 private:
  std::int64_t thickness_;
};

// A synthesis block ("b{r}", "block0", "block1"): [input (b4 only)] or fc0, then fc1, then tores.
// The official b4 builds a tores it never runs (spec §1.9); it is here so its weights load.
template <class T, class D = Cpu>
class Block : public nn::Module<T, D> {
 public:
  // A block after the first: in -> out -> out, tores out -> res.
  Block(std::int64_t in, std::int64_t out, std::int64_t res, std::int64_t w_dim, double clamp, Philox& gen)
      : fc0(std::make_unique<nn::ModulatedFc<T, D>>(in, out, w_dim, synthesis_layer_spec(clamp), gen)),
        fc1(out, out, w_dim, synthesis_layer_spec(clamp), gen),
        tores(out, res, w_dim, tores_layer_spec(clamp), gen) {
    this->register_module("fc0", *fc0);
    this->register_module("fc1", fc1);
    this->register_module("tores", tores);
  }
  // The first block b4: the Fourier input, then fc1.
  Block(std::unique_ptr<InputLayer<T, D>> input_layer, std::int64_t res, std::int64_t w_dim, double clamp, Philox& gen)
      : input(std::move(input_layer)),
        fc1(input->channels(), input->channels(), w_dim, synthesis_layer_spec(clamp), gen),
        tores(input->channels(), res, w_dim, tores_layer_spec(clamp), gen) {
    this->register_module("input", *input);
    this->register_module("fc1", fc1);
    this->register_module("tores", tores);
  }

  std::unique_ptr<InputLayer<T, D>> input;     // b4 only
  std::unique_ptr<nn::ModulatedFc<T, D>> fc0;  // every block but b4
  nn::ModulatedFc<T, D> fc1, tores;
};

// A per-pixel decoder ("decoder_{r}", "decoder_last"): "0" .. "3", equalized linear K -> 2K -> 4K
// -> 2K -> K, each with lrelu(. + bias) * sqrt(2) and no clamp.
template <class T, class D = Cpu>
class Decoder : public nn::ModuleList<nn::EqualLinear<T, D>> {
 public:
  Decoder(std::int64_t k, Philox& gen) {
    const std::int64_t dims[] = {k, 2 * k, 4 * k, 2 * k, k};
    for (int i = 0; i < 4; ++i)
      this->emplace_back(dims[i], dims[i + 1], gen, nn::EqualLinearOptions{.fused_lrelu = true});
  }

  // x (B, P, K) -> (B, P, K)
  template <class V>
  V operator()(V x) const {
    for (const auto& layer : *this) x = (*layer)(x);
    return x;
  }
};

}  // namespace pixsyn::creps
