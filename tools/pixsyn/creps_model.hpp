#pragma once
// CrepsModel<G>: the Model interface over one CREPS generator type, and the registry entries of the
// CREPS variants. Included only by the family_creps*.cpp translation units.
#include <algorithm>
#include <array>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "model.hpp"
#include "model_family.hpp"
#include "pixsyn/coords/axis_grid.hpp"
#include "pixsyn/models/creps.hpp"
#include "pixsyn/nn/serialize.hpp"
#include "pixsyn/render/tiled_creps.hpp"
#ifdef PIXSYN_WITH_CUDA
#include "pixsyn/render/cuda_creps.hpp"
#endif

namespace pixsyn::cli::detail {

// The bi-line thicknesses D registered as creps-single-d<D> and creps-multi-d<D>. Each costs one
// instantiation per size and variant (about 1.5 s of compile time each; docs/cli.md).
inline constexpr std::array<int, 5> creps_thicknesses{1, 2, 4, 8, 16};

// The fused GPU renderer (render::CudaCreps) serves the bi-line models with the official two refinement
// blocks and 16 or 32 bi-line channels: every registered one but creps-nb.
constexpr bool creps_cuda_path(const creps::Config& c) {
  return c.features == creps::Features::biline && c.refinement_blocks == 2 &&
         (c.biline_channels == 16 || c.biline_channels == 32);
}

constexpr Capabilities creps_capabilities(const creps::Config& c) {
  return {.noise = false, .fp16_refinement = true, .sampled_truncation = false, .cuda = creps_cuda_path(c)};
}

// The official CREPS coordinates span [0, 1] on both axes: the view's map there.
inline coords::Affine<float> creps_view_map(const View& view) { return view_map(view, 0.5, 1.0); }

// Whether the view mixes the axes (a rotation): then every pixel is rendered as a point of its own.
inline bool creps_per_point(const View& view) {
  const auto map = creps_view_map(view);
  return map.b != 0 || map.c != 0;
}

template <class G>
class CrepsModel final : public Model {
  static constexpr creps::Config C = G::config;
  static constexpr bool biline = C.features == creps::Features::biline;

 public:
  static constexpr Capabilities caps = creps_capabilities(C);

  explicit CrepsModel(std::uint64_t seed) : g_(seed) {}

  int size() const override { return C.size; }
  int latent_dim() const override { return C.z_dim; }
  std::vector<std::pair<std::string, std::string>> describe() const override {
    std::ostringstream widths;
    for (int r = 4; r <= C.size; r *= 2) widths << (r > 4 ? " " : "") << C.width(r);
    std::vector<std::pair<std::string, std::string>> out{
        {"size", pixsyn::detail::concat(C.size, " (training grid ", C.size, "x", C.size, " points over [0, 1])")},
        {"z_dim / w_dim", pixsyn::detail::concat(C.z_dim, " / ", C.w_dim)},
        {"mapping", pixsyn::detail::concat(C.mapping_layers, " layers, lr_mul ", C.mapping_lr_mul)},
        {"features", biline ? pixsyn::detail::concat("thick bi-lines: K = ", C.biline_channels,
                                                     " channels, thickness D = ", C.thickness, ", ", C.levels(),
                                                     " levels (b8 .. b", C.size, ")")
                            : pixsyn::detail::concat("dense 2D features (CREPS-NB), K = ", C.biline_channels)},
        {"fusion", C.level_decoders() ? "layer-wise (a decoder per level; decoder_8 is built and unused)"
                                      : "once, after the last block (decoder_last only)"},
        {"block widths", pixsyn::detail::concat("b4 .. b", C.size, ": ", widths.str(), " (channel_base ",
                                                C.channel_base, ", channel_max ", C.channel_max, ")")},
        {"refinement",
         pixsyn::detail::concat(C.refinement_blocks, " blocks (fp32, or the official fp16: --refinement)")},
        {"num_ws", std::to_string(C.num_ws())},
        {"truncation", "toward the mapping.w_avg buffer"}};
    return out;
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
  Tensor<float> truncation_center(const TruncationSampling&) const override { return g_.w_avg().clone(); }
  std::int64_t tile_points(std::int64_t batch, const View& view, const RenderSettings& settings) const override {
    const auto options = render_options(settings);
    return render::tile_points(
        creps_per_point(view) ? std::min(options.max_pixels, options.max_axis_points) : options.max_pixels, batch);
  }
  std::uint64_t working_bytes(std::int64_t batch, const View& view, const RenderSettings& settings) const override {
    const auto options = render_options(settings);
    const auto b = std::uint64_t(batch), h = std::uint64_t(view.height), w = std::uint64_t(view.width);
    const auto f = sizeof(float), k = std::uint64_t(C.biline_channels), d = std::uint64_t(C.thickness);
    // A chunk of the bi-line path: three tensors of points x D x the widest block.
    const auto chunk = saturating_product({std::uint64_t(options.max_axis_points), d, std::uint64_t(C.width(4)), 3, f});
    // A tile of the per-pixel part: input and output of the widest decoder layer (4K).
    const auto pixels = saturating_product({b, h, w});
    const auto tile = saturating_product({std::min(pixels, std::uint64_t(options.max_pixels)), 2, 4 * k, f});
    if (creps_per_point(view))  // the grid's points twice (placed, turned) and the (B, P, 3) colours
      return saturating_sum({chunk, tile, saturating_product({h, w, 2, 2, f}), saturating_product({pixels, 3, f})});
    // The per-level row and column embeddings of every sample.
    const auto axes = biline ? saturating_product({b, h + w, std::uint64_t(C.levels()), d, k, f}) : 0;
    return saturating_sum({chunk, tile, axes});
  }
  Tensor<float> render(const Tensor<float>& w, const View& view, const RenderSettings& settings) const override {
    auto options = render_options(settings);
    if (settings.progress) options.progress = [&](std::int64_t done, std::int64_t) { settings.progress(done); };
    // The official grid: linspace(0, 1, H) down the rows, linspace(0, 1, W) across the columns.
    const auto grid = coords::axis_grid<float>(view.height, view.width);
    if (!view.moved()) return render::render_image(g_, w, grid, options);
    const auto map = creps_view_map(view);
    // Shift and zoom act on each axis on its own: the row and column vectors move.
    if (!creps_per_point(view)) return render::render_image(g_, w, coords::transform(map, grid), options);
    // A rotation mixes the axes: each pixel is the diagonal of its own row and column embeddings, O(pixels).
    return render::to_images(render::render_points(g_, w, coords::transform(map, coords::to_points(grid)), options),
                             view.height, view.width);
  }
#ifdef PIXSYN_WITH_CUDA
  Tensor<float> render_cuda(const Tensor<float>& w, const View& view, const CudaSettings& settings) const override {
    if constexpr (caps.cuda) {
      auto& gpu = gpu_.get<render::CudaCreps<C>>(g_);
      const auto [first, rows] = band_rows(view, settings);
      const render::CudaCrepsOptions options{
          .precision = settings.bf16 ? backend::cuda::Precision::bf16 : backend::cuda::Precision::fp32,
          .max_pixels = settings.tile};
      auto grid = coords::crop(coords::axis_grid<float>(view.height, view.width), first, 0, rows, view.width);
      if (!creps_per_point(view)) {
        if (view.moved()) grid = coords::transform(creps_view_map(view), grid);
        return gpu.render_image(w, grid.rows, grid.cols, options);
      }
      const auto points = coords::transform(creps_view_map(view), coords::to_points(grid));
      const std::int64_t count = points.size();
      auto xs = Tensor<float>::empty({count}), ys = Tensor<float>::empty({count});
      for (std::int64_t p = 0; p < count; ++p)
        xs.data()[p] = points.xy.data()[2 * p], ys.data()[p] = points.xy.data()[2 * p + 1];
      return to_host(gpu.render_points(to_device(w), ys, xs, options)).reshape({w.dim(0), 3, rows, view.width});
    } else {
      throw Error("render_cuda: this model has no CUDA fast path (see capabilities)");
    }
  }
#endif

 private:
  static render::CrepsRenderOptions<float> render_options(const RenderSettings& settings) {
    return {.max_pixels = settings.tile,
            .refinement = settings.fp16_refinement ? creps::Precision::fp16 : creps::Precision::fp32};
  }

  G g_;
#ifdef PIXSYN_WITH_CUDA
  mutable GpuRendererCache gpu_;
#endif
};

template <template <int, class, class> class Variant>
ModelEntry creps_entry(std::string name) {
  return {std::move(name), CrepsModel<Variant<model_sizes[0], float, Cpu>>::caps,
          [](int size, std::uint64_t seed) { return make_sized<CrepsModel, Variant>(size, seed); }};
}

// A two-parameter variant with its thickness bound: Thick<creps::MultiDecoder, 4>::type<S, T, D>.
template <template <int, int, class, class> class Variant, int Dk>
struct Thick {
  template <int S, class T, class D>
  using type = Variant<S, Dk, T, D>;
};

// `prefix`<D> for every registered thickness D.
template <template <int, int, class, class> class Variant, std::size_t... I>
std::vector<ModelEntry> thickness_entries(const std::string& prefix, std::index_sequence<I...>) {
  return {creps_entry<Thick<Variant, creps_thicknesses[I]>::template type>(prefix +
                                                                           std::to_string(creps_thicknesses[I]))...};
}

template <template <int, int, class, class> class Variant>
std::vector<ModelEntry> thickness_entries(const std::string& prefix) {
  return thickness_entries<Variant>(prefix, std::make_index_sequence<creps_thicknesses.size()>{});
}

}  // namespace pixsyn::cli::detail
