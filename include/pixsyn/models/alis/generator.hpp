#pragma once
// alis::Generator<Config, T, Device>: the ALIS generator (Skorokhodov, Sotnikov, Elhoseiny, ICCV 2021)
// with the official state-dict names and the official G_ema forward (spec alis.md; docs/alis.md).
//
// API (docs/alis.md has a worked example):
//   Generator g(seed);                          // seeded random init, official layout and names
//   g.map(z)              -> w                  // (B, z_dim) -> (B, w_dim), or (B, 3, z_dim) -> (B, 3, w_dim)
//   g.w_avg()             -> (w_dim)            // the "mapping.w_avg" buffer, the truncation centre
//   alis::truncate(w, g.w_avg(), psi)           // w_avg + psi (w - w_avg)
//   g.synthesize(w, delta, options)             // anchors w (B, 3, w_dim) or (B, 3, num_ws, w_dim), left,
//                         -> (B, 3, R, R)       //   centre, right; delta (B) left borders in patches
//   g.generate(z, delta, psi, options)          // z (B, 3, z_dim): map, truncate every anchor, synthesize
//
// A frame at left border delta shows patches delta .. delta + g - 1 of the strip of D * g patches
// from the left anchor to the right one (valid: 0 <= delta <= D * g - g). Patches are independent:
// the frame at delta + 1 starts with the patch that ended the frame at delta, bit for bit; and the
// strip from anchors (a, b, c) ends where the strip from (c, d, e) begins (render/alis_panorama.hpp
// streams panoramas). Layers compute on Tensor (inference) or Var (training) with the same code, on the
// CPU or (Device = Cuda, with the pixsyn::cuda library) on the GPU through the same ops; the per-call
// inputs (interpolation weights, coordinate channels, seeded noise) are made where the generator runs
// (alis::Frames), from the same formulas.
// A GPU generator takes a CPU one's weights with load_state_dict(to_device of its state_dict()).
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "pixsyn/core/philox.hpp"
#include "pixsyn/models/alis/config.hpp"
#include "pixsyn/models/alis/layers.hpp"
#include "pixsyn/nn/mapped_generator.hpp"
#include "pixsyn/nn/mapping.hpp"

namespace pixsyn::alis {

// Noise of the convolutions (spec §1.6 step 5): none; the official noise_const buffers (official
// 'const'); seeded N(0, 1) maps (official 'random', here a function of the seed, the layer, the sample
// and the pixel's position along the strip, so that adjacent frames and strips continue each other);
// or maps given by the caller (to compare with other code).
enum class NoiseMode { off, constant, seeded, given };

template <class T>
struct SynthesisOptions {
  NoiseMode noise = NoiseMode::off;
  std::uint64_t seed = 0;  // seeded
  std::int64_t strip = 0;  // the index of the anchor strip along a panorama (>= 0; seeded noise continues over strips)
  // given: one map (B, 1, r, r) per convolution in forward order (b4.conv1, b8.conv0, b8.conv1, ...)
  std::vector<Tensor<T>> maps;
};

// w -> center + psi (w - center): truncation toward w_avg. Apply it to every anchor alike, or the
// anchors shared by neighbouring strips differ.
using nn::truncate;

// The synthesis network ("synthesis.*"): the max_shift_strength buffer and blocks b4 .. bR.
template <Config C, class T, class D>
class Synthesis : public nn::Module<T, D> {
 public:
  explicit Synthesis(Philox& gen) : max_shift_strength(Tensor<T, D>::ones({1})) {
    this->register_buffer("max_shift_strength", max_shift_strength);
    for (int r = 4; r <= C.size; r *= 2) {
      auto block = std::make_unique<Block<T, D>>();
      const int res = C.resolution(r), c = C.width(r);
      if (r == 4) {
        block->input =
            std::make_unique<InputLayer<T, D>>(C.input == Input::coord_const, c, C.input_resolution, C.w_dim, gen);
        block->conv1 = std::make_unique<PatchwiseConv<T, D>>(block->input->channels(), c, C.w_dim, res, false, C.clamp,
                                                             C.fp16_block(r), gen);
      } else {
        std::int64_t in = C.width(r / 2);
        if (C.coordinate_fusers) {
          block->fuser = std::make_unique<CoordFuser<T, D>>(
              detail::on_device<D>(logarithmic_basis<T>(res, Config::coordinate_dims(res), C.remove_lowest_freq)));
          in += block->fuser->channels();
        }
        block->conv0 =
            std::make_unique<PatchwiseConv<T, D>>(in, c, C.w_dim, res, C.upsamples(r), C.clamp, C.fp16_block(r), gen);
        block->conv1 = std::make_unique<PatchwiseConv<T, D>>(c, c, C.w_dim, res, false, C.clamp, C.fp16_block(r), gen);
      }
      block->torgb = std::make_unique<ToRgb<T, D>>(c, C.w_dim, C.clamp, gen);
      block->register_members();
      blocks.push_back(std::move(block));
      this->register_module(pixsyn::detail::concat("b", r), *blocks.back());
    }
  }

  Tensor<T, D> max_shift_strength;  // the official forward scales delta by it (1 in trained checkpoints)
  std::vector<std::unique_ptr<Block<T, D>>> blocks;  // b4, b8, ..., bR
};

template <Config C, class T = float, class D = Cpu>
class Generator : public nn::MappedGenerator<C, Synthesis<C, T, D>, T, D> {
  using Base = nn::MappedGenerator<C, Synthesis<C, T, D>, T, D>;
  static_assert(Config::power_of_two(C.size) && C.size >= 8 && C.size <= 1024,
                "alis::Config: size must be a power of two from 8 to 1024 (the official coordinate table's range)");
  static_assert(Config::power_of_two(C.input_resolution) && C.input_resolution >= 4 && C.input_resolution <= C.size,
                "alis::Config: input_resolution must be a power of two from 4 to size");
  static_assert(C.patches >= 1 && C.input_resolution % C.patches == 0,
                "alis::Config: patches must divide input_resolution (every patch needs a column at the input)");
  static_assert(C.anchor_distance >= 2 && C.anchor_distance % 2 == 0,
                "alis::Config: anchor_distance must be even and >= 2 (anchors D/2 frames apart, seamless strips)");
  static_assert(C.z_dim == C.w_dim, "alis::Config: z_dim must equal w_dim (one mapping width, as the official)");
  static_assert(C.w_dim > 0 && C.mapping_layers > 0 && C.mapping_lr_mul > 0,
                "alis::Config: w_dim, mapping_layers and mapping_lr_mul must be positive");
  static_assert(C.channel_max > 0 && C.channel_base / C.size >= 1,
                "alis::Config: every block needs a width: raise channel_base to at least size (and channel_max > 0)");
  static_assert(C.clamp > 0, "alis::Config: clamp must be positive");
  static_assert(C.fp16_resolutions >= 0, "alis::Config: fp16_resolutions must be >= 0");
  static_assert(std::is_floating_point_v<T>, "alis::Generator: T must be float or double");
  static_assert(std::is_same_v<D, Cpu> || std::is_same_v<D, Cuda>, "alis::Generator: D must be Cpu or Cuda");

 public:
  using Base::Base;
  using Base::mapping, Base::num_ws, Base::synthesis, Base::w_avg;

  // z (B, z_dim) -> w (B, w_dim); z (B, 3, z_dim) -> w (B, 3, w_dim), anchor by anchor.
  template <class V>
  V map(const V& z) const {
    pixsyn::detail::check((z.rank() == 2 || z.rank() == 3) && z.dim(-1) == C.z_dim && z.dim(0) > 0,
                          "alis::Generator::map: z has shape ", z.shape(), "; expected (batch, ", C.z_dim,
                          ") or (batch, 3, ", C.z_dim, ")");
    if (z.rank() == 2) return mapping(z);
    return reshape(mapping(reshape(z, Shape{z.dim(0) * z.dim(1), C.z_dim})), Shape{z.dim(0), z.dim(1), C.w_dim});
  }

  // The frames (B, 3, R, R) at left borders delta (one per sample, or one for all) between the anchors w.
  template <class V>
  V synthesize(const V& w, const std::vector<std::int64_t>& delta, const SynthesisOptions<T>& options = {}) const {
    check_w(w);
    return synthesize(w, Frames<T, D>(effective_delta(delta, w.dim(0)), C.patches, C.anchor_distance, options.strip),
                      options);
  }

  // The same for frames made by the caller: their left borders are effective ones (effective_delta), their strip
  // options.strip.
  template <class V>
  V synthesize(const V& w, const Frames<T, D>& frames, const SynthesisOptions<T>& options = {}) const {
    check_w(w);
    pixsyn::detail::check(
        frames.batch() == w.dim(0) && frames.patches() == C.patches &&
            frames.geometry(C.size).anchor_distance == C.anchor_distance && frames.strip() == options.strip,
        "alis::Generator::synthesize: frames of ", frames.batch(), " samples, ", frames.patches(),
        " patches (D = ", frames.geometry(C.size).anchor_distance, ") on strip ", frames.strip(), " for w of shape ",
        w.shape(), ", ", C.patches, " patches (D = ", C.anchor_distance, ") and strip ", options.strip);
    const auto noise = noise_maps(frames, options);
    V x, img;
    // Inference (Tensor): conv1 leaves its bias + activation pending on x, and ToRGB and the next conv0 apply it
    // as they read x (one pass over the largest tensors fewer; equal bit for bit). Training applies it at once.
    detail::Pending<V> pending;
    detail::Pending<V>* const defer = std::is_same_v<V, Tensor<T, D>> ? &pending : nullptr;
    int layer = 0;
    for (std::size_t k = 0; k < synthesis.blocks.size(); ++k) {
      const Block<T, D>& block = *synthesis.blocks[k];
      const int row = C.first_w(4 << k);
      if (k == 0) {
        x = (*block.input)(style(w, row), frames);
        const int i = block.input->modulated() ? 1 : 0;  // the CoordConst input takes the first row
        x = (*block.conv1)(x, style(w, row + i), frames, noise[layer++], nullptr, nullptr, defer);
        img = (*block.torgb)(x, style(w, row + i + 1), frames, defer);
        continue;
      }
      // The fuser's channels too; conv0 applies its own activation.
      x = (*block.conv0)(x, style(w, row), frames, noise[layer++], block.fuser.get(), defer);
      x = (*block.conv1)(x, style(w, row + 1), frames, noise[layer++], nullptr, nullptr, defer);
      if (block.conv0->upsamples()) img = upsample2d(img, block.resample_filter);
      img = add(img, (*block.torgb)(x, style(w, row + 2), frames, defer));
    }
    return patches_from_batch(img, C.patches);
  }

  // z (B, 3, z_dim) (left, centre, right anchors) -> frames: every anchor mapped, truncated toward
  // w_avg by psi and used for every layer.
  Tensor<T, D> generate(const Tensor<T, D>& z, const std::vector<std::int64_t>& delta, double psi = 1,
                        const SynthesisOptions<T>& options = {}) const {
    pixsyn::detail::check(z.rank() == 3 && z.dim(1) == 3, "alis::Generator::generate: z has shape ", z.shape(),
                          "; expected (batch, 3, ", C.z_dim, "): the left, centre and right anchor of every sample");
    Tensor<T, D> w = map(z);
    if (psi != 1) w = truncate(w, reshape(w_avg(), Shape{1, 1, C.w_dim}), psi);
    return synthesize(w, delta, options);
  }

  // The left borders the official forward uses: int(max_shift_strength * delta), computed in float32
  // as it does, after checking that every given delta lies in 0 .. D g - g.
  std::vector<std::int64_t> effective_delta(const std::vector<std::int64_t>& delta, std::int64_t batch) const {
    return effective_delta(delta, batch, shift_strength());
  }
  // The same with the value of max_shift_strength given (a caller that keeps it saves reading it from D).
  static std::vector<std::int64_t> effective_delta(const std::vector<std::int64_t>& delta, std::int64_t batch,
                                                   float strength) {
    pixsyn::detail::check(delta.size() == 1 || static_cast<std::int64_t>(delta.size()) == batch,
                          "alis::Generator: ", delta.size(), " left borders given for a batch of ", batch,
                          " (give one, or one per sample)");
    std::vector<std::int64_t> out(static_cast<std::size_t>(batch));
    for (std::int64_t b = 0; b < batch; ++b) {
      const std::int64_t d = delta.size() == 1 ? delta[0] : delta[b];
      pixsyn::detail::check(d >= 0 && d <= C.max_delta(), "alis::Generator: left border delta = ", d,
                            " is outside 0 .. ", C.max_delta(), " (D * g - g with D = ", C.anchor_distance,
                            ", g = ", C.patches, "): the frame must lie between the left and the right anchor");
      const float scaled = strength * static_cast<float>(d);
      pixsyn::detail::check(std::isfinite(scaled) && scaled >= 0 && scaled <= static_cast<float>(C.max_delta()),
                            "alis::Generator: max_shift_strength ", strength, " scales delta ", d, " to ", scaled,
                            ", outside 0 .. ", C.max_delta());
      out[b] = static_cast<std::int64_t>(scaled);
    }
    return out;
  }
  // max_shift_strength, read from D (on the GPU a wait for it).
  float shift_strength() const { return static_cast<float>(detail::on_host(synthesis.max_shift_strength).data()[0]); }

 protected:
  // The coordinate channel counts follow the stored `basis` buffers (spec §7: a checkpoint may have
  // been trained with another basis than the Config's): every layer that reads coordinates is
  // resized to the stored basis before the keys are checked.
  void adapt_to(const nn::StateDict<T, D>& state) override {
    for (std::size_t k = 0; k < synthesis.blocks.size(); ++k) {
      Block<T, D>& block = *synthesis.blocks[k];
      const std::string prefix = pixsyn::detail::concat("synthesis.b", 4 << k, ".");
      if (block.input && block.input->coord)
        resize_basis(state, prefix + "input.input.basis", block.input->coord->basis, *block.conv1,
                     block.input->coord->input_column.dim(0));
      if (block.fuser)
        resize_basis(state, prefix + "coords_fuser0.basis", block.fuser->basis, *block.conv0, C.width(2 << k));
    }
  }

 private:
  static void resize_basis(const nn::StateDict<T, D>& state, const std::string& key, Tensor<T, D>& basis,
                           PatchwiseConv<T, D>& conv, std::int64_t features) {
    const auto it = state.find(key);
    if (it == state.end() || it->second.rank() != 2 || it->second.dim(1) != 2 || it->second.dim(0) == basis.dim(0))
      return;  // absent or malformed keys are reported by the key check
    const std::int64_t in = features + 2 * it->second.dim(0), out = conv.out_channels(),
                       w_dim = conv.affine.weight.dim(1);
    basis = Tensor<T, D>::zeros(it->second.shape());
    conv.weight = Var<T, D>::parameter(Tensor<T, D>::zeros({out, in, 3, 3}));
    conv.affine.weight = Var<T, D>::parameter(Tensor<T, D>::zeros({in, w_dim}));
    conv.affine.bias = Var<T, D>::parameter(Tensor<T, D>::zeros({in}));
  }

  template <class V>
  static void check_w(const V& w) {
    pixsyn::detail::check((w.rank() == 3 || (w.rank() == 4 && w.dim(2) == num_ws)) && w.dim(1) == 3 &&
                              w.dim(-1) == C.w_dim && w.dim(0) > 0,
                          "alis::Generator::synthesize: w has shape ", w.shape(), "; expected (batch, 3, ", C.w_dim,
                          ") or (batch, 3, ", num_ws, ", ", C.w_dim, "): the left, centre and right anchor");
  }

  // The anchors' w (B, 3, w_dim) of style row i.
  template <class V>
  static V style(const V& w, int i) {
    return w.rank() == 3 ? w : reshape(slice(w, 2, i, i + 1), Shape{w.dim(0), 3, C.w_dim});
  }

  // The noise of every convolution in forward order, in patch layout (B * g, 1, r, r / g); undefined when off.
  // Seeded noise is drawn on D (Frames::seeded_noise); given maps are copied to D.
  std::vector<Tensor<T, D>> noise_maps(const Frames<T, D>& frames, const SynthesisOptions<T>& options) const {
    std::vector<const PatchwiseConv<T, D>*> convs;
    for (const auto& block : synthesis.blocks) {
      if (block->conv0) convs.push_back(block->conv0.get());
      convs.push_back(block->conv1.get());
    }
    std::vector<Tensor<T, D>> out(convs.size());
    if (options.noise == NoiseMode::off) return out;
    const std::int64_t batch = frames.batch(), g = C.patches;
    pixsyn::detail::check(options.noise != NoiseMode::given || options.maps.size() == convs.size(),
                          "alis::Generator: ", options.maps.size(), " noise maps given for ", convs.size(),
                          " convolutions");
    for (std::size_t l = 0; l < convs.size(); ++l) {
      const std::int64_t r = convs[l]->resolution();
      if (options.noise == NoiseMode::seeded) {
        out[l] = frames.seeded_noise(options.seed, l, r);
      } else if (options.noise == NoiseMode::constant) {
        out[l] = detail::repeat_patches(patches_to_batch(reshape(convs[l]->noise_const, Shape{1, 1, r, r}), g), batch);
      } else {
        pixsyn::detail::check(options.maps[l].shape() == Shape{batch, 1, r, r}, "alis::Generator: noise map ", l,
                              " has shape ", options.maps[l].shape(), "; expected (", batch, ", 1, ", r, ", ", r, ")");
        out[l] = patches_to_batch(detail::on_device<D>(options.maps[l]), g);
      }
    }
    return out;
  }
};

// A generator's state dict on device D2, where a generator of the same Config on D2 loads it:
//   alis::Generator<C, float, Cuda> gpu;  gpu.load_state_dict(alis::weights_on<Cuda>(cpu));
template <class D2, Config C, class T, class D>
nn::StateDict<T, D2> weights_on(const Generator<C, T, D>& g) {
  nn::StateDict<T, D2> out;
  for (const auto& [key, value] : g.state_dict()) out.emplace(key, detail::on_device<D2>(detail::on_host(value)));
  return out;
}

}  // namespace pixsyn::alis
