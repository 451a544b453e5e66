#pragma once
// creps::Generator<Config, T, Device>: the CREPS generator (Nguyen, Le, Tran, CVPR 2023) with the
// official state-dict names and the official G_ema forward (force_fp32=True; an option emulates the
// default fp16 refinement), rendering any separable grid or any point set.
//
// API (stable; docs/creps.md has a worked example):
//   Generator g(seed);                                  // seeded random init, official layout and names
//   g.map(z)                -> w (B, w_dim)             // the mapping network, before the broadcast to num_ws
//   g.w_avg()               -> (w_dim)                  // the "mapping.w_avg" buffer, the truncation centre
//   creps::truncate(w, g.w_avg(), psi)                  // w_avg + psi (w - w_avg)
//   g.embed_axis(w, t, Axis::rows | Axis::cols)         // bi-line path of one axis: coordinates t (N) ->
//                           -> levels (B, N, D, K) each //   one embedding per level b8 .. bR, sqrt(0.5) included
//   g.synthesize_pairs(w, row_levels, col_levels, row_index, col_index, options)
//                           -> (B, P, 3)                // per-pixel part at P (row, column) index pairs
//   g.synthesize_grid(w, rows, cols, options) -> (B, 3, H, W)      // rows (H), cols (W): any H x W
//   g.synthesize_points(w, ys, xs, options)   -> (B, P, 3)         // pixel (ys[p], xs[p]) for every p, O(P)
//   g.head(w, feature, options)               -> (B, P, 3)         // decoder_last, decoder_img, refinement
//   g.refine(w, feature, rgb, options)        -> (B, P, 3)         // the refinement blocks alone
// w is (B, w_dim) (one style for every layer, as the official broadcast) or (B, num_ws, w_dim) (one per
// layer, spec §1.2). Coordinates are plain vectors in the official [0, 1] span (linspace(0, 1, R) is
// the training grid); render/tiled_creps.hpp renders in tiles of bounded memory. The per-level
// embeddings and the per-pixel part are separate because the network is separable (spec §1.10): a grid
// is every (row, column) pair, a point set is the diagonal, and a rotation or a warp is a point set.
// Every member below is public, so a GPU renderer can read the weights (layer.matrix(), styles()).
// Layers compute on Tensor (inference, styles folded into per-sample weights) or Var (training) with
// the same code, on the CPU or (Device = Cuda, with the pixsyn::cuda library; what training runs on the
// GPU) through the same ops: coordinates and indices stay host tensors on every device, the host computes
// the Fourier features and copies them over. A GPU generator takes a CPU one's weights with
// load_state_dict(nn::state_dict_on<Cuda>(cpu.state_dict())); render/cuda_creps.hpp is the fast GPU
// renderer. The dense variant (CREPS-NB) has no per-axis embeddings: it evaluates points only.
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "pixsyn/autograd/functions/biline.hpp"
#include "pixsyn/autograd/functions/matmul.hpp"
#include "pixsyn/models/creps/config.hpp"
#include "pixsyn/models/creps/fp16.hpp"
#include "pixsyn/models/creps/layers.hpp"
#include "pixsyn/nn/mapped_generator.hpp"
#include "pixsyn/nn/mapping.hpp"
#include "pixsyn/ops/transfer.hpp"

namespace pixsyn::creps {

enum class Axis { rows, cols };
// The refinement blocks' arithmetic: fp32 (force_fp32=True), or fp16 as the official default runs them.
enum class Precision { fp32, fp16 };

struct SynthesisOptions {
  Precision refinement = Precision::fp32;
};

// w -> center + psi (w - center): truncation toward w_avg (the same maths as CIPS's).
using nn::truncate;

namespace detail {

// Coordinates from outside: a non-empty 1-D vector of finite numbers.
template <class T>
void check_coordinates(const char* op, const char* name, const Tensor<T>& t) {
  pixsyn::detail::check(t.defined() && t.rank() == 1 && t.numel() > 0, op, ": ", name,
                        " must be a non-empty 1-D coordinate vector, got shape ", t.defined() ? t.shape() : Shape{});
  for (std::int64_t i = 0; i < t.numel(); ++i)
    pixsyn::detail::check(std::isfinite(t.data()[i]), op, ": ", name, "[", i, "] = ", t.data()[i], " is not finite");
}

// Every (row, column) pair of a grid in row-major order, out[b, h W + w, k] = Σ_d u[b, h, d, k] v[b, w, d, k]
// for u (B, H, D, K) and v (B, W, D, K): one batched product (B K, H, D) x (B K, D, W) -> (B, H W, K). On Var
// its backward is products too, where biline_compose's composite keeps two (B, H W, D, K) gathers per level.
template <class V>
V compose_grid(const V& u, const V& v) {
  const std::int64_t b = u.dim(0), h = u.dim(1), d = u.dim(2), k = u.dim(3), w = v.dim(1);
  const V rows = reshape(permute(u, {0, 3, 1, 2}), Shape{b * k, h, d});
  const V cols = reshape(permute(v, {0, 3, 2, 1}), Shape{b * k, d, w});
  return reshape(permute(reshape(matmul(rows, cols), Shape{b, k, h, w}), {0, 2, 3, 1}), Shape{b, h * w, k});
}

inline Tensor<std::int64_t> iota(std::int64_t n) {
  auto out = Tensor<std::int64_t>::empty({n});
  for (std::int64_t i = 0; i < n; ++i) out.data()[i] = i;
  return out;
}

}  // namespace detail

// The synthesis network ("synthesis.*"): blocks b4 .. bR, the level decoders, decoder_last,
// decoder_img and the refinement blocks, registered in the official order.
template <Config C, class T, class D>
class Synthesis : public nn::Module<T, D> {
 public:
  explicit Synthesis(Philox& gen) {
    const std::int64_t k = C.biline_channels;
    auto input = std::make_unique<InputLayer<T, D>>(C.width(4), C.w_dim, C.thickness, C.features == Features::dense,
                                                    C.size, C.bandwidth, gen);
    blocks.push_back(std::make_unique<Block<T, D>>(std::move(input), k, C.w_dim, C.clamp, gen));
    for (int r = 8; r <= C.size; r *= 2)
      blocks.push_back(std::make_unique<Block<T, D>>(C.width(r / 2), C.width(r), k, C.w_dim, C.clamp, gen));
    for (int i = 0, r = 4; i < static_cast<int>(blocks.size()); ++i, r *= 2)
      this->register_module(pixsyn::detail::concat("b", r), *blocks[i]);
    if constexpr (C.level_decoders())
      for (int r = 8; r <= C.size; r *= 2) {
        decoders.push_back(std::make_unique<Decoder<T, D>>(k, gen));
        this->register_module(pixsyn::detail::concat("decoder_", r), *decoders.back());
      }
    decoder_last = std::make_unique<Decoder<T, D>>(k, gen);
    this->register_module("decoder_last", *decoder_last);
    decoder_img = std::make_unique<nn::EqualLinear<T, D>>(k, 3, gen);
    this->register_module("decoder_img", *decoder_img);
    const std::int64_t widths[] = {k, 4 * k, 2 * k};
    for (int i = 0; i < C.refinement_blocks; ++i) {
      refinement.push_back(std::make_unique<Block<T, D>>(widths[i], widths[i + 1], 3, C.w_dim, C.clamp, gen));
      this->register_module(pixsyn::detail::concat("block", i), *refinement.back());
    }
  }

  const InputLayer<T, D>& input() const { return *blocks.front()->input; }

  std::vector<std::unique_ptr<Block<T, D>>> blocks;      // b4, b8, ..., bR
  std::vector<std::unique_ptr<Decoder<T, D>>> decoders;  // decoder_8 .. decoder_R (layer-wise fusion only)
  std::unique_ptr<Decoder<T, D>> decoder_last;
  std::unique_ptr<nn::EqualLinear<T, D>> decoder_img;
  std::vector<std::unique_ptr<Block<T, D>>> refinement;  // block0, block1
};

template <Config C, class T = float, class D = Cpu>
class Generator : public nn::MappedGenerator<C, Synthesis<C, T, D>, T, D> {
  using Base = nn::MappedGenerator<C, Synthesis<C, T, D>, T, D>;
  static_assert(C.size_is_power_of_two() && C.size >= 8,
                "creps::Config: size must be a power of two >= 8 (b4 and at least one bi-line block, b8)");
  static_assert(C.size <= (1 << 14), "creps::Config: size must be at most 16384");
  static_assert(C.z_dim == C.w_dim, "creps::Config: z_dim must equal w_dim (one mapping width, as the official)");
  static_assert(C.w_dim > 0 && C.mapping_layers > 0 && C.mapping_lr_mul > 0,
                "creps::Config: w_dim, mapping_layers and mapping_lr_mul must be positive");
  static_assert(C.channel_max > 0 && C.channel_base / C.size >= 1,
                "creps::Config: every block needs a width: raise channel_base to at least size (and channel_max > 0)");
  static_assert(C.width(4) % 2 == 0,
                "creps::Config: the b4 width min(channel_base / 4, channel_max) must be even (sin and cos halves)");
  static_assert(C.biline_channels > 3, "creps::Config: biline_channels must exceed 3 (the RGB channels)");
  static_assert(C.thickness > 0, "creps::Config: thickness must be positive");
  static_assert(C.bandwidth > 0 && C.clamp > 0, "creps::Config: bandwidth and clamp must be positive");
  static_assert(!(C.features == Features::dense && C.fusion == Fusion::layer_wise),
                "creps::Config: dense features (CREPS-NB) have no per-level decoders: set fusion = Fusion::final");
  static_assert(C.refinement_blocks >= 0 && C.refinement_blocks <= 2,
                "creps::Config: refinement_blocks must be 0, 1 or 2");
  static_assert(std::is_floating_point_v<T>, "creps::Generator: T must be float or double");
  static_assert(std::is_same_v<D, Cpu> || std::is_same_v<D, Cuda>, "creps::Generator: D must be Cpu or Cuda");

 public:
  using Base::Base;
  using Base::mapping, Base::num_ws, Base::synthesis, Base::w_avg;

  // z (B, z_dim) -> w (B, w_dim)
  template <class V>
  V map(const V& z) const {
    pixsyn::detail::check(z.rank() == 2 && z.dim(1) == C.z_dim, "creps::Generator::map: z has shape ", z.shape(),
                          "; expected (batch, ", C.z_dim, ")");
    return mapping(z);
  }

  // Per-level embeddings of one axis at coordinates t (N): for each level b8 .. bR the accumulated
  // bi-line half of that axis times sqrt(0.5), (B, N, thickness, K).
  template <class V>
  std::vector<V> embed_axis(const V& w, const Tensor<T>& t, Axis axis) const requires(C.features == Features::biline) {
    check_w(w, "embed_axis");
    detail::check_coordinates("creps::Generator::embed_axis", "coordinates", t);
    const std::int64_t batch = w.dim(0), n = t.numel();
    std::vector<V> levels;
    run_blocks(w, synthesis.blocks.front()->input->axis(style(w, 0), t, axis == Axis::rows ? 0 : 1), [&](const V& res) {
      levels.push_back(
          reshape(mul(res, static_cast<T>(std::sqrt(0.5))), Shape{batch, n, C.thickness, C.biline_channels}));
    });
    return levels;
  }

  // The per-pixel part at pixels (row_index[p], col_index[p]) of embedded axes -> RGB (B, P, 3).
  template <class V>
  V synthesize_pairs(const V& w, const std::vector<V>& row_levels, const std::vector<V>& col_levels,
                     const Tensor<std::int64_t>& row_index, const Tensor<std::int64_t>& col_index,
                     SynthesisOptions options = {}) const requires(C.features == Features::biline) {
    check_w(w, "synthesize_pairs");
    pixsyn::detail::check(row_levels.size() == std::size_t(C.levels()) && col_levels.size() == std::size_t(C.levels()),
                          "creps::Generator::synthesize_pairs: expected ", C.levels(), " levels per axis, got ",
                          row_levels.size(), " and ", col_levels.size());
    const auto pairs = [&](const V& u, const V& v) { return biline_compose(u, v, row_index, col_index); };
    return head(w, fuse_levels(row_levels, col_levels, pairs), options);
  }

  // The image at rows (H) x cols (W) -> (B, 3, H, W).
  template <class V>
  V synthesize_grid(const V& w, const Tensor<T>& rows, const Tensor<T>& cols, SynthesisOptions options = {}) const {
    check_w(w, "synthesize_grid");
    detail::check_coordinates("creps::Generator::synthesize_grid", "rows", rows);
    detail::check_coordinates("creps::Generator::synthesize_grid", "cols", cols);
    const std::int64_t h = rows.numel(), wd = cols.numel();
    auto ri = Tensor<std::int64_t>::empty({h * wd}), ci = Tensor<std::int64_t>::empty({h * wd});
    for (std::int64_t p = 0; p < h * wd; ++p) ri.data()[p] = p / wd, ci.data()[p] = p % wd;
    V rgb;
    if constexpr (C.features == Features::biline && std::is_same_v<V, Var<T, Cuda>>) {
      // Training on the GPU: every pair as one batched product (detail::compose_grid), not the gathers.
      const auto grid = [](const V& u, const V& v) { return detail::compose_grid(u, v); };
      rgb = head(w, fuse_levels(embed_axis(w, rows, Axis::rows), embed_axis(w, cols, Axis::cols), grid), options);
    } else if constexpr (C.features == Features::biline) {
      rgb = synthesize_pairs(w, embed_axis(w, rows, Axis::rows), embed_axis(w, cols, Axis::cols), ri, ci, options);
    } else {
      rgb = synthesize_points(w, index_select(rows, 0, ri), index_select(cols, 0, ci), options);
    }
    return reshape(permute(rgb, {0, 2, 1}), Shape{w.dim(0), 3, h, wd});
  }

  // The pixels at (ys[p], xs[p]) -> (B, P, 3): each axis embedded once per point, and only the
  // diagonal pairs composed, O(P).
  template <class V>
  V synthesize_points(const V& w, const Tensor<T>& ys, const Tensor<T>& xs, SynthesisOptions options = {}) const {
    check_w(w, "synthesize_points");
    detail::check_coordinates("creps::Generator::synthesize_points", "ys", ys);
    detail::check_coordinates("creps::Generator::synthesize_points", "xs", xs);
    pixsyn::detail::check(ys.numel() == xs.numel(), "creps::Generator::synthesize_points: ", ys.numel(), " ys but ",
                          xs.numel(), " xs");
    if constexpr (C.features == Features::biline) {
      const auto diagonal = detail::iota(ys.numel());
      return synthesize_pairs(w, embed_axis(w, ys, Axis::rows), embed_axis(w, xs, Axis::cols), diagonal, diagonal,
                              options);
    } else {
      V feature;
      run_blocks(w, synthesis.blocks.front()->input->dense(style(w, 0), ys, xs), [&](const V& res) { feature = res; });
      return head(w, feature, options);
    }
  }

  // decoder_last, decoder_img and the refinement blocks on fused features (B, P, K) -> RGB (B, P, 3).
  template <class V>
  V head(const V& w, const V& feature, SynthesisOptions options = {}) const {
    const V f = (*synthesis.decoder_last)(feature);
    return refine(w, f, (*synthesis.decoder_img)(f), options);
  }

  // The refinement blocks on features (B, P, K) and RGB (B, P, 3), all with the last w -> RGB.
  template <class V>
  V refine(const V& w, const V& feature, const V& rgb, SynthesisOptions options = {}) const {
    check_w(w, "refine");
    const V last = style(w, num_ws - 1);
    if (options.refinement == Precision::fp16) {
      if constexpr (std::is_same_v<V, Tensor<T, D>> && std::is_same_v<D, Cpu>) {
        std::vector<const Block<T, D>*> blocks;
        for (const auto& b : synthesis.refinement) blocks.push_back(b.get());
        return detail::refine_fp16(blocks, last, feature, rgb);
      } else {
        pixsyn::detail::fail(
            "creps::Generator: the fp16 refinement emulation is for inference on the CPU (Tensor<T, Cpu>), not Var "
            "or the GPU (render/cuda_creps.hpp renders 16-bit there)");
      }
    }
    V x = feature, out = rgb;
    for (const auto& block : synthesis.refinement) {
      x = (*block->fc0)(x, last);
      x = block->fc1(x, last);
      out = add(out, block->tores(x, last));
    }
    return out;
  }

 private:
  template <class V>
  static void check_w(const V& w, const char* op) {
    pixsyn::detail::check(
        (w.rank() == 2 && w.dim(1) == C.w_dim) || (w.rank() == 3 && w.dim(1) == num_ws && w.dim(2) == C.w_dim),
        "creps::Generator::", op, ": w has shape ", w.shape(), "; expected (batch, ", C.w_dim, ") or (batch, ", num_ws,
        ", ", C.w_dim, ")");
    pixsyn::detail::check(w.dim(0) > 0, "creps::Generator::", op, ": the batch is empty");
  }

  // b4.fc1 on the input x0, then blocks b8 .. bR; calls level(S_r) with the accumulated ToRes output
  // of every block (the official "skip" accumulation, spec §1.5).
  template <class V, class F>
  void run_blocks(const V& w, const V& x0, F&& level) const {
    V x = synthesis.blocks.front()->fc1(x0, style(w, 1)), res;
    for (int k = 3; k <= C.log_size(); ++k) {
      const auto& block = *synthesis.blocks[k - 2];
      x = (*block.fc0)(x, style(w, 2 * k - 5));
      x = block.fc1(x, style(w, 2 * k - 4));
      const V y = block.tores(x, style(w, 2 * k - 3));
      res = res.defined() ? add(res, y) : y;
      level(res);
    }
  }

  // The fused features (B, P, K) of the levels' embeddings, compose(row level, column level) -> (B, P, K): the
  // last level alone (final fusion), or each level folded into the next by its decoder (layer-wise).
  template <class V, class Compose>
  V fuse_levels(const std::vector<V>& row_levels, const std::vector<V>& col_levels, Compose&& compose) const {
    if constexpr (C.fusion == Fusion::final) {
      return compose(row_levels.back(), col_levels.back());
    } else {
      V feature = compose(row_levels[0], col_levels[0]);
      for (int l = 1; l < C.levels(); ++l)
        feature = add((*synthesis.decoders[l])(feature), compose(row_levels[l], col_levels[l]));
      return feature;
    }
  }

  // The w of layer i: w itself when one w serves every layer.
  template <class V>
  static V style(const V& w, int i) {
    return w.rank() == 2 ? w : reshape(slice(w, 1, i, i + 1), Shape{w.dim(0), C.w_dim});
  }
};

}  // namespace pixsyn::creps
