#pragma once
// The pixsyn program's models: every (name, size) generator type is instantiated once, behind a small
// family-agnostic interface, so that the command line deals in names and sizes only (strings at the
// edge, templates inside). A family (CIPS, CREPS, ...) implements Model once for all its types
// (cips_model.hpp, creps_model.hpp) and adds its names to the registry (registry.cpp); every subcommand
// works on Model, so families share the plumbing.
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pixsyn/core/shape.hpp"
#include "pixsyn/core/tensor.hpp"
#include "pixsyn/nn/noise.hpp"
#include "usage_error.hpp"
#include "view.hpp"

namespace pixsyn::cli {

struct ParameterInfo {
  std::string name;
  Shape shape;
};

// What a family offers beyond the common interface. The subcommands refuse an option the model lacks,
// naming the option and the model, before any work.
struct Capabilities {
  bool noise = false;               // per-pixel noise inputs (--noise seeded)
  bool fp16_refinement = false;     // the official fp16 refinement emulation (--refinement fp16)
  bool sampled_truncation = false;  // the truncation centre is a mean over sampled latents (--truncation-samples)
  bool cuda = false;                // a fused GPU renderer (--device cuda)
  bool cuda_bf16 = true;            // which also renders in bf16 (--precision bf16)
  // ALIS: frames of the model size between three anchor latents (left, centre, right) at a left
  // border delta of 0 .. max_delta patches (--anchors, --delta); panoramas (pixsyn panorama); the
  // official constant noise (--noise const).
  bool anchors = false;
  int max_delta = 0;
  bool constant_noise = false;
};

// Where the truncation centre comes from, for families that estimate it (CIPS: the mean w of
// `samples` latents drawn from Philox{seed}); families with a stored centre (CREPS: mapping.w_avg)
// ignore it.
struct TruncationSampling {
  std::int64_t samples = 4096;
  std::uint64_t seed = 0;
};

struct RenderSettings {
  std::int64_t tile = 1 << 16;  // at most this many (sample, point) pairs at once
  nn::NoiseMode noise = nn::NoiseMode::off;
  std::uint64_t noise_seed = 0;
  bool fp16_refinement = false;
  bool constant_noise = false;  // the official noise_const buffers (ALIS, --noise const)
  std::int64_t delta = 0;       // frames between anchors (ALIS): the left border, in patches
  // Called after each tile with the points done (of height x width); with anchors, after each frame
  // with the pixels of the frames done.
  std::function<void(std::int64_t)> progress;
};

// A panorama (models with Capabilities::anchors): anchor i's latent is row i of the N(0, 1) stream of
// `seed`, or of its own seed when resampled.
struct PanoramaSettings {
  std::int64_t frames = 1;
  std::uint64_t seed = 0;
  std::map<std::int64_t, std::uint64_t> resampled;  // anchor -> seed
  double truncation = 1;                            // toward the stored centre, for every anchor
  nn::NoiseMode noise = nn::NoiseMode::off;         // off or seeded
  bool constant_noise = false;
  std::uint64_t noise_seed = 0;
  bool bf16 = false;  // on the GPU: the convolutions with bf16 operands, fp32 accumulation (--precision bf16)
};

// A panorama's frames, rendered by one object so that what repeats from frame to frame (a strip's mapped
// anchors; on the GPU the recorded forward, render/alis_frame_renderer.hpp) is made once.
class PanoramaFrames {
 public:
  virtual ~PanoramaFrames() = default;
  // Frames first .. first + count, (count, 3, size, size) in float, values nominally in [-1, 1]; fastest in order.
  virtual Tensor<float> frames(std::int64_t first, std::int64_t count) = 0;
};

#ifdef PIXSYN_WITH_CUDA
struct CudaSettings {
  bool bf16 = false;  // the 16-bit mode (bf16 for CIPS, fp16 for CREPS, fp32 accumulation); fp32 otherwise
  nn::NoiseMode noise = nn::NoiseMode::off;
  std::uint64_t noise_seed = 0;
  std::int64_t tile = 0;        // 0: the most that the renderer's workspace holds
  bool constant_noise = false;  // ALIS: the official noise_const buffers (--noise const)
  std::int64_t delta = 0;       // ALIS: the frames' left border, in patches
  // Only rows first_row .. first_row + rows - 1 of the view (rows 0: to its last row), as the whole view's
  // render has them (noise included): a band of a render split over GPUs. Families without anchors.
  std::int64_t first_row = 0, rows = 0;
};

// The band of the view's rows that `settings` asks for, checked: (first row, row count).
inline std::pair<std::int64_t, std::int64_t> band_rows(const View& view, const CudaSettings& settings) {
  const std::int64_t first = settings.first_row, rows = settings.rows ? settings.rows : view.height - first;
  pixsyn::detail::check(first >= 0 && first < view.height && rows >= 1 && rows <= view.height - first,
                        "render_cuda: ", rows, " rows from row ", first, " are not within the view's ", view.height,
                        " rows");
  return {first, rows};
}
#endif

class Model {
 public:
  virtual ~Model() = default;
  virtual int size() const = 0;
  // The width of z (and of the latents files).
  virtual int latent_dim() const = 0;
  // The configuration as (field, value) lines for `pixsyn info`.
  virtual std::vector<std::pair<std::string, std::string>> describe() const = 0;
  virtual Capabilities capabilities() const = 0;
  // Trainable parameters (buffers excluded).
  virtual std::int64_t parameter_count() const = 0;
  // Every parameter in state-dict order.
  virtual std::vector<ParameterInfo> parameters() const = 0;
  // Loads a safetensors state dict with full validation (throws pixsyn::Error listing every bad key).
  virtual void load(const std::filesystem::path& path) = 0;
  // z (B, latent_dim) -> w (B, w_dim); with anchors, z (B, 3, latent_dim) -> w (B, 3, w_dim).
  virtual Tensor<float> map(const Tensor<float>& z) const = 0;
  // The centre that --truncation pulls w toward.
  virtual Tensor<float> truncation_center(const TruncationSampling& sampling) const = 0;
  // Points per tile of a render of `batch` images of `view` (the progress report's step).
  virtual std::int64_t tile_points(std::int64_t batch, const View& view, const RenderSettings& settings) const = 0;
  // Memory a render of `batch` images of `view` needs beyond the images themselves: its coordinates
  // and a tile's activations (at least; for the up-front memory check).
  virtual std::uint64_t working_bytes(std::int64_t batch, const View& view, const RenderSettings& settings) const = 0;
  // w (B, w_dim) -> images (B, 3, view.height, view.width), on the CPU in tiles of bounded memory.
  // With anchors: w (B, 3, w_dim) -> frames (B, 3, size, size) at settings.delta, the view unmoved.
  virtual Tensor<float> render(const Tensor<float>& w, const View& view, const RenderSettings& settings) const = 0;
  // With anchors: the anchors a panorama of `frames` frames has.
  virtual std::int64_t panorama_anchors(std::int64_t frames) const;
  // With anchors: the frames of that panorama (settings.frames long); with `gpu`, rendered on the GPU (a pixsyn
  // built with CUDA, capabilities().cuda). The model must outlive them.
  virtual std::unique_ptr<PanoramaFrames> panorama(const PanoramaSettings& settings, bool gpu) const;
#ifdef PIXSYN_WITH_CUDA
  // As render, on the GPU with the family's fused renderer; only when capabilities().cuda.
  virtual Tensor<float> render_cuda(const Tensor<float>& w, const View& view, const CudaSettings& settings) const = 0;
#endif
};

// Families without anchors render no panoramas; the subcommands check capabilities().anchors first.
inline std::int64_t Model::panorama_anchors(std::int64_t) const {
  throw Error("this model renders no panoramas (it has no anchors)");
}
inline std::unique_ptr<PanoramaFrames> Model::panorama(const PanoramaSettings&, bool) const {
  throw Error("this model renders no panoramas (it has no anchors)");
}

// A registered name: its family's capabilities are known without building a model, so that option
// checks run right after parsing.
struct ModelEntry {
  std::string name;
  Capabilities capabilities;
  std::unique_ptr<Model> (*make)(int size, std::uint64_t seed);
  // The narrower variants that pixsyn train writes (their weights' metadata has "max_channels";
  // trainable.hpp): null for a (size, max_channels) it does not build; the list of
  // those it builds, for messages (null: not listed). Null functions for a family without narrow variants.
  std::unique_ptr<Model> (*make_narrow)(int size, int max_channels, std::uint64_t seed) = nullptr;
  std::string (*narrow_list)() = nullptr;
};

// The registered names ("cips-skips", "creps", "creps-multi-d4", ...) and sizes.
const std::vector<std::string>& model_names();
// The same for messages and help texts, numbered members grouped ("creps-multi-d<N> (N = 1, 2, ...)").
const std::string& model_name_list();
inline constexpr std::array<int, 7> model_sizes{16, 32, 64, 128, 256, 512, 1024};

// The entry of `name`; throws UsageError listing the valid choices when it is not registered (for a
// family with a thickness D in its names, the registered values of D).
const ModelEntry& find_model(const std::string& name);

// The generator `name` at `size` with the seeded random initialisation; throws UsageError (listing
// the valid choices) when either is not registered. max_channels > 0 asks for a narrower variant of
// the family (as pixsyn train makes them); 0 for the registered widths.
std::unique_ptr<Model> make_model(const std::string& name, int size, int max_channels, std::uint64_t seed);

}  // namespace pixsyn::cli
