#pragma once
// AlisModel<G>: the Model interface over one ALIS generator type, and the registry entries of the
// ALIS variants. Included only by the family_alis*.cpp translation units.
#include <algorithm>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "model.hpp"
#include "model_family.hpp"
#include "pixsyn/models/alis.hpp"
#include "pixsyn/nn/serialize.hpp"
#include "pixsyn/ops/layout.hpp"
#include "pixsyn/render/alis_panorama.hpp"
#ifdef PIXSYN_WITH_CUDA
#include "pixsyn/backend/cuda/conv.hpp"
#endif

namespace pixsyn::cli::detail {

template <class G>
constexpr Capabilities alis_capabilities() {
  return {.noise = true,
          .fp16_refinement = false,
          .sampled_truncation = false,
          .cuda = true,       // the generator's forward on the CUDA ops (a pixsyn built with PIXSYN_CUDA)
          .cuda_bf16 = true,  // bf16 convolution operands, fp32 accumulation (backend::cuda::ConvPrecisionScope)
          .anchors = true,
          .max_delta = G::config.max_delta(),
          .constant_noise = true};
}

inline alis::NoiseMode alis_noise(nn::NoiseMode noise, bool constant) {
  return constant                         ? alis::NoiseMode::constant
         : noise == nn::NoiseMode::seeded ? alis::NoiseMode::seeded
                                          : alis::NoiseMode::off;
}

template <class G>
class AlisModel final : public Model {
  static constexpr alis::Config C = G::config;

 public:
  static constexpr Capabilities caps = alis_capabilities<G>();

  explicit AlisModel(std::uint64_t seed) : g_(seed) {}

  int size() const override { return C.size; }
  int latent_dim() const override { return C.z_dim; }
  std::vector<std::pair<std::string, std::string>> describe() const override {
    std::ostringstream widths, coordinates;
    for (int r = 4; r <= C.size; r *= 2) widths << (r > 4 ? " " : "") << C.width(r);
    for (int k = 1; k < static_cast<int>(g_.synthesis.blocks.size()); ++k)
      if (const auto& fuser = g_.synthesis.blocks[k]->fuser) coordinates << (k > 1 ? " " : "") << fuser->channels();
    const auto& input = *g_.synthesis.blocks.front()->input;
    int first_fp16 = 0;
    for (int r = C.size; r >= 8 && C.fp16_block(r); r /= 2) first_fp16 = r;
    return {
        {"size", pixsyn::detail::concat(C.size, " (frames of ", C.size, "x", C.size, ")")},
        {"z_dim / w_dim", pixsyn::detail::concat(C.z_dim, " / ", C.w_dim)},
        {"mapping", pixsyn::detail::concat(C.mapping_layers, " layers, lr_mul ", C.mapping_lr_mul)},
        {"block widths", pixsyn::detail::concat("b4 .. b", C.size, ": ", widths.str(), " (channel_base ",
                                                C.channel_base, ", channel_max ", C.channel_max, ")")},
        {"input", input.modulated() ? pixsyn::detail::concat("CoordConst ", C.input_resolution, "x", C.input_resolution,
                                                             ", ", input.channels(), " channels")
                                    : pixsyn::detail::concat("constant ", C.input_resolution, "x", C.input_resolution)},
        {"coordinates", C.coordinate_fusers ? pixsyn::detail::concat("b8 .. b", C.size, ": ", coordinates.str(),
                                                                     " channels (logarithmic basis)")
                                            : std::string("none after the input")},
        {"patches", pixsyn::detail::concat("g = ", C.patches, " per frame, each convolved on its own")},
        {"anchors", pixsyn::detail::concat("D = ", C.anchor_distance, ": ", C.frames_per_anchor(),
                                           " frames apart; --delta 0 .. ", C.max_delta(), " patches")},
        {"fp16 blocks", first_fp16 ? pixsyn::detail::concat("b", first_fp16, " .. b", C.size,
                                                            ": styles normalised per anchor, as the official fp16 "
                                                            "forward (computed in fp32)")
                                   : std::string("none")},
        {"num_ws", std::to_string(C.num_ws())},
        {"truncation", "toward the mapping.w_avg buffer, for every anchor"}};
  }
  Capabilities capabilities() const override { return caps; }
  std::int64_t parameter_count() const override { return g_.parameter_count(); }
  std::vector<ParameterInfo> parameters() const override { return parameter_table(g_); }
  void load(const std::filesystem::path& path) override {
    nn::load_safetensors(g_, path);
#ifdef PIXSYN_WITH_CUDA
    gpu_.reset();  // the GPU copy is of the weights before
#endif
  }
  Tensor<float> map(const Tensor<float>& z) const override { return g_.map(z); }
  Tensor<float> truncation_center(const TruncationSampling&) const override { return g_.w_avg().clone(); }
  // A frame is one step.
  std::int64_t tile_points(std::int64_t, const View& view, const RenderSettings&) const override {
    return view.height * view.width;
  }
  // One frame's largest layer: its input and output, and the 3x3 patches its convolution unfolds.
  std::uint64_t working_bytes(std::int64_t, const View&, const RenderSettings&) const override {
    std::uint64_t most = 0;
    for (int r = 4; r <= C.size; r *= 2) {
      const std::uint64_t side = std::uint64_t(C.resolution(r)),
                          in = std::uint64_t(C.width(r / 2 < 4 ? 4 : r / 2)) + 64, out = std::uint64_t(C.width(r));
      most = std::max(most, saturating_product({side, side, saturating_sum({in, out, 9 * std::max(in, out)}), 4}));
    }
    return saturating_product({most, 2});
  }
  Tensor<float> render(const Tensor<float>& w, const View& view, const RenderSettings& settings) const override {
    pixsyn::detail::check(!view.moved() && view.height == C.size && view.width == C.size, "ALIS renders frames of ",
                          C.size, "x", C.size, " with the camera unmoved");
    const std::int64_t batch = w.dim(0), frame = 3 * std::int64_t(C.size) * C.size;
    const alis::SynthesisOptions<float> options{.noise = alis_noise(settings.noise, settings.constant_noise),
                                                .seed = settings.noise_seed};
    auto out = Tensor<float>::empty({batch, 3, C.size, C.size});
    for (std::int64_t b = 0; b < batch; ++b) {
      // Sample by sample, for the progress report (a batch renders each sample as it renders alone).
      const auto image = g_.synthesize(slice(w, 0, b, b + 1), {settings.delta}, options);
      std::copy(image.data(), image.data() + frame, out.data() + b * frame);
      if (settings.progress) settings.progress((b + 1) * std::int64_t(C.size) * C.size);
    }
    return out;
  }
  std::int64_t panorama_anchors(std::int64_t frames) const override {
    return render::AlisPanorama<G>(g_, frames).anchors();
  }
  std::unique_ptr<PanoramaFrames> panorama(const PanoramaSettings& settings, bool gpu) const override {
#ifdef PIXSYN_WITH_CUDA
    if (gpu) return std::make_unique<Panorama<GpuGenerator>>(gpu_generator(), settings);
#endif
    pixsyn::detail::check(!gpu, "panorama: this pixsyn was built without CUDA");
    pixsyn::detail::check(!settings.bf16, "panorama: bf16 is a GPU precision (the CPU renders in fp32)");
    return std::make_unique<Panorama<G>>(g_, settings);
  }
#ifdef PIXSYN_WITH_CUDA
  // The whole batch at once, on a GPU copy of the weights made at the first call.
  Tensor<float> render_cuda(const Tensor<float>& w, const View& view, const CudaSettings& settings) const override {
    pixsyn::detail::check(!view.moved() && view.height == C.size && view.width == C.size, "ALIS renders frames of ",
                          C.size, "x", C.size, " with the camera unmoved");
    pixsyn::detail::check(band_rows(view, settings) == std::pair<std::int64_t, std::int64_t>{0, C.size},
                          "ALIS renders whole frames, not bands of rows");
    const alis::SynthesisOptions<float> options{.noise = alis_noise(settings.noise, settings.constant_noise),
                                                .seed = settings.noise_seed};
    const backend::cuda::ConvPrecisionScope precision(settings.bf16 ? backend::cuda::Precision::bf16
                                                                    : backend::cuda::Precision::fp32);
    return to_host(gpu_generator().synthesize(to_device(w), {settings.delta}, options));
  }
#endif

 private:
  template <class Generator>
  class Panorama final : public PanoramaFrames {
   public:
    Panorama(const Generator& g, const PanoramaSettings& settings)
        : pano_(g, settings.frames, {.seed = settings.seed, .resampled = settings.resampled},
                {.truncation = settings.truncation,
                 .noise = alis_noise(settings.noise, settings.constant_noise),
                 .noise_seed = settings.noise_seed}),
          bf16_(settings.bf16) {}

    Tensor<float> frames(std::int64_t first, std::int64_t count) override {
#ifdef PIXSYN_WITH_CUDA
      if constexpr (std::is_same_v<typename Generator::device_type, Cuda>) {
        const backend::cuda::ConvPrecisionScope precision(bf16_ ? backend::cuda::Precision::bf16
                                                                : backend::cuda::Precision::fp32);
        return render_frames(first, count);
      }
#endif
      return render_frames(first, count);
    }

   private:
    Tensor<float> render_frames(std::int64_t first, std::int64_t count) const {
      std::vector<Tensor<float>> out;
      for (const auto& frame : pano_.range(first, first + count)) out.push_back(frame.image);
      return concat(out, 0);
    }

    render::AlisPanorama<Generator> pano_;
    bool bf16_;
  };

  G g_;
#ifdef PIXSYN_WITH_CUDA
  using GpuGenerator = alis::Generator<C, float, Cuda>;
  const GpuGenerator& gpu_generator() const {
    if (!gpu_) {
      gpu_ = std::make_unique<GpuGenerator>();
      gpu_->load_state_dict(alis::weights_on<Cuda>(g_));
    }
    return *gpu_;
  }
  mutable std::unique_ptr<GpuGenerator> gpu_;
#endif
};

template <template <int, class, class> class Variant>
ModelEntry alis_entry(std::string name) {
  return {std::move(name), AlisModel<Variant<model_sizes[0], float, Cpu>>::caps,
          [](int size, std::uint64_t seed) { return make_sized<AlisModel, Variant>(size, seed); }};
}

}  // namespace pixsyn::cli::detail
