#pragma once
// CipsModel<G>: the Model interface over one CIPS generator type, and cips_entry, which registers a
// variant template at every size. Included only by the family_cips_*.cpp translation units.
#include <sstream>
#include <utility>

#include "model.hpp"
#include "model_family.hpp"
#include "pixsyn/coords/grid.hpp"
#include "pixsyn/coords/transform.hpp"
#include "pixsyn/models/cips.hpp"
#include "pixsyn/nn/serialize.hpp"
#include "pixsyn/render/tiled.hpp"
#ifdef PIXSYN_WITH_CUDA
#include "pixsyn/render/cuda_cips.hpp"
#endif

namespace pixsyn::cli::detail {

// The models the fused GPU renderer serves: CIPSskip and CIPSres with Fourier features and the learned
// embedding and leaky ReLU, at the official widths and the narrow ones pixsyn train writes (the engine takes
// any width). Only these instantiate render::CudaCips.
constexpr bool cips_cuda_path(const cips::Config& c) {
  return c.topology != cips::Topology::base && c.embedding == cips::Embedding::fourier_and_learned &&
         c.activation == cips::Activation::leaky_relu;
}

constexpr Capabilities cips_capabilities(const cips::Config& c) {
  return {.noise = true, .fp16_refinement = false, .sampled_truncation = true, .cuda = cips_cuda_path(c)};
}

inline const char* to_string(cips::Topology t) {
  switch (t) {
    case cips::Topology::skips:
      return "skips (ToRGB after every block, summed)";
    case cips::Topology::residual:
      return "residual (residual blocks, one final ToRGB)";
    case cips::Topology::base:
      return "base (plain stack, one final ToRGB)";
  }
  return "?";
}

inline const char* to_string(cips::Embedding e) {
  switch (e) {
    case cips::Embedding::fourier_and_learned:
      return "Fourier features + learned embedding";
    case cips::Embedding::fourier_only:
      return "Fourier features only";
    case cips::Embedding::learned_only:
      return "learned embedding only";
  }
  return "?";
}

// The official CIPS grid (x and y in [-1, 1]) moved by the view's camera; `rows` rows from `first_row` (0: all).
inline coords::PointSet<float> cips_points(const View& view, std::int64_t first_row = 0, std::int64_t rows = 0) {
  auto grid = coords::grid_rect<float>(view.height, view.width, first_row, 0, rows ? rows : view.height, view.width);
  return view.moved() ? coords::transform(view_map(view, 0.0, 2.0), grid) : grid;
}

template <class G>
class CipsModel final : public Model {
  static constexpr cips::Config C = G::config;

 public:
  static constexpr Capabilities caps = cips_capabilities(C);

  explicit CipsModel(std::uint64_t seed) : g_(seed) {}

  int size() const override { return C.size; }
  int latent_dim() const override { return C.style_dim; }
  std::vector<std::pair<std::string, std::string>> describe() const override {
    std::ostringstream channels;
    for (int i = 0; i < C.blocks(); ++i) channels << (i ? " " : "") << C.channel(i);
    return {
        {"size", pixsyn::detail::concat(C.size, " (embedding table ", C.size, "x", C.size, ")")},
        {"hidden", std::to_string(C.hidden)},
        {"style_dim", std::to_string(C.style_dim)},
        {"mapping", pixsyn::detail::concat(C.mapping_layers, " layers, lr_mul ", C.mapping_lr_mul)},
        {"topology", to_string(C.topology)},
        {"embedding", to_string(C.embedding)},
        {"activation", C.activation == cips::Activation::sine ? "sine" : "leaky_relu"},
        {"block channels", pixsyn::detail::concat(channels.str(), " (channel multiplier ", C.channel_multiplier, ")")},
        {"noise maps", std::to_string(C.styled_convs())}};
  }
  Capabilities capabilities() const override { return caps; }
  std::int64_t parameter_count() const override { return g_.parameter_count(); }
  std::vector<ParameterInfo> parameters() const override { return parameter_table(g_); }
  void load(const std::filesystem::path& path) override {
    nn::load_safetensors(g_, path);
#ifdef PIXSYN_WITH_CUDA
    gpu_.reset();  // its weights are those before
#endif
  }
  Tensor<float> map(const Tensor<float>& z) const override { return g_.map(z); }
  Tensor<float> truncation_center(const TruncationSampling& sampling) const override {
    return g_.mean_w(sampling.samples, Philox{sampling.seed});
  }
  std::int64_t tile_points(std::int64_t batch, const View&, const RenderSettings& settings) const override {
    return render::tile_points(settings.tile, batch);
  }
  std::uint64_t working_bytes(std::int64_t batch, const View& view, const RenderSettings& settings) const override {
    // The grid's points, the (B, P, 3) points before they become images, and a tile's activations
    // (input and output of the widest layer).
    const auto points = saturating_product({std::uint64_t(view.height), std::uint64_t(view.width)});
    const auto pairs = std::min(saturating_product({std::uint64_t(batch), points}), std::uint64_t(settings.tile));
    return saturating_sum({saturating_product({points, 2, sizeof(float)}),
                           saturating_product({std::uint64_t(batch), points, 3, sizeof(float)}),
                           saturating_product({pairs, 2, std::uint64_t(C.hidden), sizeof(float)})});
  }
  Tensor<float> render(const Tensor<float>& w, const View& view, const RenderSettings& settings) const override {
    render::RenderOptions<float> options{
        .max_pixels = settings.tile, .noise = settings.noise, .noise_seed = settings.noise_seed, .noise_maps = {}};
    if (settings.progress) options.progress = [&](std::int64_t done, std::int64_t) { settings.progress(done); };
    return render::render_image(g_, w, cips_points(view), options);
  }
#ifdef PIXSYN_WITH_CUDA
  Tensor<float> render_cuda(const Tensor<float>& w, const View& view, const CudaSettings& settings) const override {
    if constexpr (caps.cuda) {
      const auto [first, rows] = band_rows(view, settings);
      return gpu_.get<render::CudaCips<C>>(g_).render_image(
          w, cips_points(view, first, rows),
          render::CudaRenderOptions{.precision = settings.bf16 ? render::Precision::bf16 : render::Precision::fp32,
                                    .noise = settings.noise,
                                    .noise_seed = settings.noise_seed,
                                    .first_point = static_cast<std::uint64_t>(first * view.width),
                                    .max_pixels = settings.tile});
    } else {
      throw Error("render_cuda: this model has no CUDA fast path (see capabilities)");
    }
  }
#endif

 private:
  G g_;
#ifdef PIXSYN_WITH_CUDA
  mutable GpuRendererCache gpu_;
#endif
};

// The registry entry of a CIPS variant template: every registered size.
template <template <int, class, class> class Variant>
ModelEntry cips_entry(std::string name) {
  return {std::move(name), CipsModel<Variant<model_sizes[0], float, Cpu>>::caps,
          [](int size, std::uint64_t seed) { return make_sized<CipsModel, Variant>(size, seed); }};
}

}  // namespace pixsyn::cli::detail
