// pixsyn render: images from a registered generator (random or loaded weights, seeded or given
// latents, any H x W, a moved camera, in tiles), on the CPU or with the fused GPU renderer (in row bands,
// spread over the GPUs of --gpus); for ALIS, frames between given or seeded anchor latents at a left
// border delta.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "distributed.hpp"
#include "memory.hpp"
#include "model_options.hpp"
#include "options.hpp"
#include "pixsyn/core/finite.hpp"
#include "pixsyn/io/image.hpp"
#include "pixsyn/io/npy.hpp"
#include "pixsyn/io/output_set.hpp"
#include "pixsyn/nn/mapping.hpp"
#include "pixsyn/render/split.hpp"
#include "progress.hpp"
#include "subcommands.hpp"

namespace pixsyn::cli {
namespace {

// The accepted ranges (docs/cli.md lists them). A side of 65536 is 64 times the largest training size;
// memory, not these bounds, is what limits a render in practice, and it is checked before rendering.
constexpr std::int64_t max_side = 65536, max_batch = 65536, max_columns = 65536;
constexpr std::int64_t max_tile = std::int64_t(1) << 24;
constexpr std::int64_t max_truncation_samples = std::int64_t(1) << 16;
constexpr double max_truncation = 100;
// The camera: shifts of a million images and magnifications from 1e-6 to 1e6 are far beyond use; the
// bounds only keep the coordinates finite.
constexpr double max_shift = 1e6, min_zoom = 1e-6, max_zoom = 1e6, max_degrees = 1e6;
// ALIS left borders: each model's own range is checked once it is known (Capabilities::max_delta).
constexpr std::int64_t max_delta_option = 1 << 20;
// The GPU renders in row bands of at most this many (sample, pixel) pairs over the whole batch (one band up to
// 2048² or 256² x 64): a band is the unit that --gpus spreads, and a rank holds one band at a time.
constexpr std::int64_t band_pairs = std::int64_t(1) << 22;

struct RenderArgs {
  std::string weights;
  std::string latents, anchors;
  std::int64_t delta = 0;
  std::uint64_t seed = 0;
  std::int64_t batch = 1;
  std::int64_t height = 0, width = 0;  // 0: the model size
  double shift_x = 0, shift_y = 0, zoom = 1, rotate = 0;
  double truncation = 1.0;
  std::int64_t truncation_samples = 4096;
  std::uint64_t truncation_seed = 0;
  std::string noise = "off";
  std::uint64_t noise_seed = 0;
  std::int64_t tile = 0;  // 0: the device's default
  std::string device = "cpu", precision = "fp32", refinement = "fp32";
  std::string png, npy;
  std::int64_t columns = 0;
  std::int64_t gpus = 1;
  bool quiet = false;
};

// An option that only some families take: its flag and whether it was given, recorded right after
// parsing (record()), since the parser's options are gone by the time run() learns the model from
// the weights' metadata.
struct FamilyOption {
  CLI::Option* option = nullptr;  // valid while parsing only
  std::string flag;
  bool given = false;

  FamilyOption(CLI::Option* o = nullptr) : option(o) {}  // implicit: from what the add_*_option functions return
  void record() {
    flag = option->get_name();
    given = option->count() > 0;
  }
};

// The options that only some families take: checked against the model once it is known.
struct FamilyOptions {
  FamilyOption truncation_samples, truncation_seed, refinement, latents, anchors, delta;
  // What a model with anchors (ALIS) does not take: it renders whole frames of its size, unmoved.
  std::vector<FamilyOption> view;

  void record() {
    for (FamilyOption* o : {&truncation_samples, &truncation_seed, &refinement, &latents, &anchors, &delta})
      o->record();
    for (FamilyOption& o : view) o.record();
  }
};

FamilyOptions add_render_options(CLI::App& render, RenderArgs& r) {
  FamilyOptions family;
  add_path_option(render, "--weights", r.weights, "State dict (.safetensors) to load, validated against the model");
  CLI::Option* latents =
      add_path_option(render, "--latents", r.latents, "Latents z: .npy of float32/float64, shape (batch, style_dim)");
  CLI::Option* anchors = add_path_option(
      render, "--anchors", r.anchors,
      "ALIS: the anchor latents z, .npy of float32/float64, shape (batch, 3, z_dim): left, centre, right");
  anchors->excludes(latents);
  family.latents = latents;
  family.anchors = anchors;
  family.delta = add_integer_option(render, "--delta", r.delta, 0, max_delta_option,
                                    "ALIS: the frame's left border, in patches from the left anchor (alis: 0 .. 6)");
  add_seed_option(render, "--seed", r.seed, "Seed of the latents z ~ N(0, I) (Philox)")
      ->excludes(latents)
      ->excludes(anchors);
  add_integer_option(render, "--batch", r.batch, 1, max_batch, "Number of seeded latents")
      ->excludes(latents)
      ->excludes(anchors);
  family.view = {
      add_integer_option(render, "--height", r.height, 1, max_side,
                         "Image height: sample points down the rows (default: the model size)")
          ->default_str(""),
      add_integer_option(render, "--width", r.width, 1, max_side,
                         "Image width: sample points across the columns (default: the model size)")
          ->default_str(""),
      add_number_option(render, "--shift-x", r.shift_x, -max_shift, max_shift,
                        "Move the camera right by this many training-image widths (the content moves left)"),
      add_number_option(render, "--shift-y", r.shift_y, -max_shift, max_shift,
                        "Move the camera down by this many training-image heights (the content moves up)"),
      add_number_option(render, "--zoom", r.zoom, min_zoom, max_zoom,
                        "Magnify the content this many times about the view's centre (< 1 zooms out)"),
      add_number_option(render, "--rotate", r.rotate, -max_degrees, max_degrees,
                        "Turn the content this many degrees counter-clockwise on screen (CREPS: each pixel is then "
                        "rendered as a point of its own)")};
  add_number_option(render, "--truncation", r.truncation, -max_truncation, max_truncation,
                    "psi: w = center + psi (w - center); the center is CIPS's mean_w, CREPS's mapping.w_avg");
  family.truncation_samples = add_integer_option(render, "--truncation-samples", r.truncation_samples, 1,
                                                 max_truncation_samples, "Latents averaged for mean_w (CIPS)");
  family.truncation_seed =
      add_seed_option(render, "--truncation-seed", r.truncation_seed, "Seed of the latents averaged for mean_w (CIPS)");
  add_choice_option(render, "--noise", r.noise, {"off", "seeded", "random", "const"},
                    "Per-pixel noise (CIPS, ALIS): seeded (or random, the same), or ALIS's constant noise_const maps");
  add_seed_option(render, "--noise-seed", r.noise_seed, "Seed of the noise");
  family.view.push_back(add_integer_option(render, "--tile", r.tile, 1, max_tile,
                                           "Maximum (sample, pixel) pairs rendered at once (default: 65536 on the "
                                           "CPU; on CUDA the most that the renderer's workspace holds)")
                            ->default_str(""));
  add_choice_option(render, "--device", r.device, {"cpu", "cuda"},
                    "cpu, or cuda: the fused GPU renderer (cips-skips, cips-res and the bi-line CREPS models), or "
                    "ALIS's forward on the GPU ops");
  add_precision_option(render, r.precision,
                       "the 16-bit mode (--device cuda only: bf16 (CIPS) or fp16 (CREPS) weights and activations, "
                       "bf16 convolution operands (ALIS); fp32 accumulation)");
  family.refinement = add_refinement_option(render, r.refinement);
  add_path_option(render, "--png", r.png, "Write the batch as a PNG grid (values clamped from [-1, 1] to [0, 1])");
  add_path_option(render, "--npy", r.npy, "Write the raw float32 images (B, 3, H, W) as .npy");
  add_integer_option(render, "--columns", r.columns, 0, max_columns, "Columns of the PNG grid (0: about sqrt(B))");
  add_gpus_option(render, r.gpus);
  render.add_flag("-q,--quiet", r.quiet, "No progress report on stderr");
  return family;
}

// ALIS anchors: (batch, 3, z_dim), finite.
Tensor<float> read_anchors(const std::string& path, int z_dim) {
  auto z = io::read_npy<float>(path);
  pixsyn::detail::check(z.rank() == 3 && z.dim(0) > 0 && z.dim(1) == 3 && z.dim(2) == z_dim, "--anchors '", path,
                        "' has shape ", z.shape(), "; expected (batch, 3, ", z_dim,
                        "): the left, centre and right anchor latents of every frame");
  if (const auto bad = first_non_finite(z))
    pixsyn::detail::fail("--anchors '", path, "' holds ", z.data()[*bad], " at (", *bad / (3 * z_dim), ", ",
                         *bad / z_dim % 3, ", ", *bad % z_dim, "); latents must be finite");
  return z;
}

Tensor<float> read_latents(const std::string& path, int style_dim) {
  auto z = io::read_npy<float>(path);
  pixsyn::detail::check(z.rank() == 2 && z.dim(0) > 0 && z.dim(1) == style_dim, "--latents '", path, "' has shape ",
                        z.shape(), "; expected (batch, ", style_dim, ")");
  // float64 values beyond float's range become infinities here, and are refused with the rest.
  if (const auto bad = first_non_finite(z))
    pixsyn::detail::fail("--latents '", path, "' holds ", z.data()[*bad], " at (", *bad / style_dim, ", ",
                         *bad % style_dim, "); latents must be finite");
  return z;
}

// A render with a NaN or infinity is refused whatever the output format, before anything is written.
void check_finite(const Tensor<float>& images) {
  const auto bad = first_non_finite(images);
  if (!bad) return;
  const std::int64_t height = images.dim(2), width = images.dim(3), plane = height * width;
  pixsyn::detail::fail("the render holds ", images.data()[*bad], " at sample ", *bad / (3 * plane), ", channel ",
                       *bad / plane % 3, ", row ", *bad % plane / width, ", column ", *bad % width,
                       "; nothing was written");
}

// The PNG grid must fit the PNG encoder (io::write_png checks again): refused before rendering rather than after.
void check_png_size(std::int64_t batch, std::int64_t height, std::int64_t width, std::int64_t columns) {
  // The grid as io::image_grid lays it out: columns (about sqrt(B) when 0) of at most B images.
  const std::int64_t cols =
      std::min(batch, columns ? columns : static_cast<std::int64_t>(std::ceil(std::sqrt(static_cast<double>(batch)))));
  const std::int64_t rows = (batch + cols - 1) / cols;
  const std::uint64_t bytes = io::png_pixel_bytes(3, saturating_product({std::uint64_t(rows), std::uint64_t(height)}),
                                                  saturating_product({std::uint64_t(cols), std::uint64_t(width)}));
  pixsyn::detail::check(bytes <= io::max_png_pixel_bytes, "--png: a grid of ", rows, " x ", cols, " images of ", height,
                        "x", width, " is more than a PNG can be written with (", io::max_png_pixel_bytes,
                        " bytes of pixel data); use --npy, or fewer or smaller images");
}

// At least the memory a render of `batch` images needs on the host: the images, the model's working set
// (coordinates, a tile's activations), and the encoded outputs.
std::uint64_t render_bytes(const RenderArgs& a, const Model& model, std::int64_t batch, const View& view,
                           const RenderSettings& settings) {
  const std::uint64_t images = saturating_product(
      {std::uint64_t(batch), 3, std::uint64_t(view.height), std::uint64_t(view.width), sizeof(float)});
  const std::uint64_t render =
      saturating_sum({images, a.device == "cuda" ? 0 : model.working_bytes(batch, view, settings)});
  // Writing: the images, plus the .npy's bytes and the PNG grid (float, then 8-bit, then stb's copy).
  const std::uint64_t write =
      saturating_sum({images, a.npy.empty() ? 0 : images, a.png.empty() ? 0 : saturating_product({images / 4, 6})});
  return std::max(render, write);
}

// On the CPU, in tiles of --tile (sample, point) pairs, with progress on stderr.
Tensor<float> render_cpu(const Model& model, const Tensor<float>& w, const View& view, RenderSettings settings,
                         bool quiet) {
  const std::int64_t batch = w.dim(0), points = view.height * view.width;
  if (model.capabilities().anchors) {  // frame by frame; progress counts the pixels of the frames done
    Progress progress({.label = "render", .steps = "frames", .enabled = !quiet}, batch, batch * points);
    settings.progress = [&](std::int64_t done) { progress.update(done / points, done); };
    return model.render(w, view, settings);
  }
  const std::int64_t tile_points = model.tile_points(batch, view, settings);
  const std::int64_t tiles = (points + tile_points - 1) / tile_points;
  Progress progress({.label = "render", .enabled = !quiet}, tiles, batch * points);
  settings.progress = [&](std::int64_t done) { progress.update((done + tile_points - 1) / tile_points, done * batch); };
  return model.render(w, view, settings);
}

#ifdef PIXSYN_WITH_CUDA
// On the GPU with the family's fused renderer, in row bands of the whole batch (ALIS: whole frames, one
// call). Band k is rendered by the same call whichever process renders it, so the bands of a --gpus run
// (comm: this process's rank; band k is rank k mod N's) gather on rank 0 into the bytes one GPU renders;
// the other ranks return an undefined tensor. Progress counts the bands; --tile 0 (the default) lets the
// renderer's workspace budget choose its tile.
Tensor<float> render_gpu(const Model& model, const Tensor<float>& w, const View& view, const RenderArgs& a,
                         dist::Communicator* comm, bool quiet) {
  const std::int64_t batch = w.dim(0), height = view.height, width = view.width;
  const std::int64_t rows =
      model.capabilities().anchors ? height : std::clamp(band_pairs / (batch * width), std::int64_t(1), height);
  const std::int64_t bands = (height + rows - 1) / rows;
  const auto rows_of = [&](std::int64_t k) { return std::min(rows, height - k * rows); };
  Progress progress({.label = "render (GPU)", .steps = "bands", .enabled = !quiet}, bands, batch * height * width);
  progress.started();
  CudaSettings settings{
      .bf16 = a.precision == "bf16",
      .noise = a.noise == "seeded" || a.noise == "random" ? nn::NoiseMode::seeded : nn::NoiseMode::off,
      .noise_seed = a.noise_seed,
      .tile = a.tile,
      .constant_noise = a.noise == "const",
      .delta = a.delta};
  Tensor<float> images;
  render::gather_in_order(
      comm, bands,
      [&](std::int64_t k) {
        settings.first_row = k * rows, settings.rows = rows_of(k);
        return model.render_cuda(w, view, settings);
      },
      [&](std::int64_t k) {
        return Shape{batch, 3, rows_of(k), width};
      },
      [&](std::int64_t k, const Tensor<float>& band) {
        if (bands == 1) {
          images = band;
        } else {
          if (!images.defined()) images = Tensor<float>::empty({batch, 3, height, width});
          const std::int64_t plane = rows_of(k) * width;
          for (std::int64_t i = 0; i < batch * 3; ++i)  // (sample, channel) planes: the band's rows go in place
            std::copy(band.data() + i * plane, band.data() + (i + 1) * plane,
                      images.data() + (i * height + k * rows) * width);
        }
        progress.update(k + 1, batch * (k * rows + rows_of(k)) * width);
      });
  return images;
}
#endif

class Render final : public Command {
 public:
  explicit Render(CLI::App& app) {
    add_model_options(app, model_);
    family_ = add_render_options(app, args_);
  }

  void check() const override {
    const RenderArgs& a = args_;
    if (a.gpus > 1 && a.device != "cuda") throw UsageError("--gpus " + std::to_string(a.gpus) + " needs --device cuda");
    check_precision_option(a.precision, a.device);
#ifndef PIXSYN_WITH_CUDA
    if (a.device == "cuda") throw UsageError("this pixsyn was built without CUDA (configure with -DPIXSYN_CUDA=ON)");
#endif
    model_.check_given(!a.weights.empty());
    family_.record();
    if (model_.known()) check_family(model_.entry());
  }

  int run() override;

 private:
  // Options the chosen family does not take are refused, naming the option and the model: right after
  // parsing when --model is given, else once the weights' metadata has named it.
  void check_family(const ModelEntry& entry) const {
    const RenderArgs& a = args_;
    const Capabilities& caps = entry.capabilities;
    if (a.noise != "off" && !caps.noise)
      throw UsageError(pixsyn::detail::concat("--noise ", a.noise, ": ", entry.name, " has no noise inputs"));
    if (a.noise == "const" && !caps.constant_noise)
      throw UsageError(pixsyn::detail::concat("--noise const: ", entry.name, " has no constant noise maps"));
    if (caps.anchors) {
      if (a.gpus > 1)
        throw UsageError(pixsyn::detail::concat("--gpus: ", entry.name,
                                                " renders whole frames on one GPU here; pixsyn panorama --gpus spreads "
                                                "a panorama's frames over GPUs"));
      if (family_.latents.given)
        throw UsageError(pixsyn::detail::concat("--latents: ", entry.name,
                                                " renders frames between anchors; give them with --anchors "
                                                "(batch, 3, z_dim)"));
      for (const FamilyOption& o : family_.view)
        if (o.given)
          throw UsageError(pixsyn::detail::concat(o.flag, " does not apply to ", entry.name,
                                                  ": it renders whole frames of its size, unmoved (pixsyn panorama "
                                                  "renders wide strips)"));
      if (a.delta > caps.max_delta)
        throw UsageError(pixsyn::detail::concat("--delta must be between 0 and ", caps.max_delta, " for ", entry.name,
                                                " (got ", a.delta,
                                                "): the frame must lie between the left and the "
                                                "right anchor"));
    } else {
      for (const FamilyOption* o : {&family_.anchors, &family_.delta})
        if (o->given)
          throw UsageError(
              pixsyn::detail::concat(o->flag, " applies to models with anchors (alis), not to ", entry.name));
    }
    for (const FamilyOption* o : {&family_.truncation_samples, &family_.truncation_seed})
      if (o->given && !caps.sampled_truncation)
        throw UsageError(pixsyn::detail::concat(o->flag, " does not apply to ", entry.name,
                                                ": its truncation centre is stored in the weights (mapping.w_avg), "
                                                "not sampled"));
    check_refinement_option(family_.refinement.given, entry);
    check_precision_option(a.precision, entry);
    if (a.device == "cuda" && !caps.cuda)
      throw UsageError(
          pixsyn::detail::concat("model ", entry.name, " is not supported on the CUDA fast path; use --device cpu"));
    if (a.device == "cuda" && a.refinement == "fp16")
      throw UsageError(
          "--refinement fp16 is emulated on the CPU only; on the GPU, --precision bf16 is the 16-bit mode");
  }

  ModelOptions model_;
  RenderArgs args_;
  mutable FamilyOptions family_;  // which were given: recorded by check()
};

int Render::run() {
  const RenderArgs& a = args_;
  model_.resolve(a.weights);
  check_family(model_.entry());
  const ModelOptions& m = model_;
  const bool gpu = a.device == "cuda";
  const std::int64_t height = a.height ? a.height : m.size, width = a.width ? a.width : m.size;

  // Every output is checked before any work, against the inputs too.
  io::OutputSet outputs;
  if (!a.weights.empty()) outputs.add_input("--weights", a.weights);
  if (!a.latents.empty()) outputs.add_input("--latents", a.latents);
  if (!a.anchors.empty()) outputs.add_input("--anchors", a.anchors);
  const bool save_npy = !a.npy.empty(), save_png = !a.png.empty();
  const std::size_t npy = save_npy ? outputs.add_output("--npy", a.npy) : 0;
  const std::size_t png = save_png ? outputs.add_output("--png", a.png) : 0;

  auto model = m.make();
  const bool anchors = model->capabilities().anchors;
  const Tensor<float> z = !a.latents.empty()   ? read_latents(a.latents, model->latent_dim())
                          : !a.anchors.empty() ? read_anchors(a.anchors, model->latent_dim())
                          : anchors            ? Tensor<float>::randn({a.batch, 3, model->latent_dim()}, Philox{a.seed})
                                               : Tensor<float>::randn({a.batch, model->latent_dim()}, Philox{a.seed});
  const std::int64_t batch = z.dim(0);
  const View view{.height = height,
                  .width = width,
                  .shift_x = a.shift_x,
                  .shift_y = a.shift_y,
                  .zoom = a.zoom,
                  .rotate_degrees = a.rotate};
  const RenderSettings settings{
      .tile = a.tile ? a.tile : RenderSettings{}.tile,
      .noise = a.noise == "seeded" || a.noise == "random" ? nn::NoiseMode::seeded : nn::NoiseMode::off,
      .noise_seed = a.noise_seed,
      .fp16_refinement = a.refinement == "fp16",
      .constant_noise = a.noise == "const",
      .delta = a.delta,
      .progress = {}};
  if (save_png) check_png_size(batch, height, width, a.columns);
  check_memory(pixsyn::detail::concat("rendering ", batch, " image", batch == 1 ? "" : "s", " of ", height, "x", width),
               render_bytes(a, *model, batch, view, settings));
  // The inputs are checked: --gpus N runs this command again as N ranks, one GPU each; rank 0 writes.
  if (const auto status = launch_ranks(a.gpus)) return *status;
  const RankScope rank_scope;
  dist::Communicator* comm = rank_communicator(a.device);
  const bool root = comm == nullptr || comm->rank() == 0, quiet = a.quiet || !root;
  if (!a.weights.empty()) model->load(a.weights);
  // After the inputs are checked, so that a bad input gives one error line and nothing else.
  if (a.weights.empty() && root)
    std::cerr << "note: no --weights given; using a random initialisation (seed " << m.init_seed << ")\n";
  Tensor<float> w = model->map(z);
  if (a.truncation != 1.0)
    w = nn::truncate(w, model->truncation_center({.samples = a.truncation_samples, .seed = a.truncation_seed}),
                     a.truncation);

  const auto start = std::chrono::steady_clock::now();
#ifdef PIXSYN_WITH_CUDA
  const Tensor<float> images =
      gpu ? render_gpu(*model, w, view, a, comm, quiet) : render_cpu(*model, w, view, settings, a.quiet);
#else
  const Tensor<float> images = render_cpu(*model, w, view, settings, a.quiet);
#endif
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!images.defined()) return 0;  // a rank of --gpus but 0: its bands went to rank 0

  check_finite(images);
  if (save_npy) outputs.write(npy, [&](const std::filesystem::path& path) { io::write_npy(path, images); });
  if (save_png)
    outputs.write(png, [&](const std::filesystem::path& path) {
      io::write_png(path, io::image_grid(images, a.columns, io::ImageRange::signed_unit));
    });
  outputs.commit();
  if (!save_npy && !save_png) std::cerr << "note: no --png or --npy given; the images are not saved\n";

  const double pixels = static_cast<double>(batch * height * width);
  char rate[64];
  std::snprintf(rate, sizeof rate, "%.3f s, %.0f pixels/s", seconds, pixels / std::max(seconds, 1e-9));
  // With --npy /dev/stdout the summary must not end up inside the file.
  const auto out = io::file_id(STDOUT_FILENO);
  (out && outputs.writes_to(*out) ? std::cerr : std::cout)
      << "rendered " << batch << " image" << (batch == 1 ? "" : "s") << " of " << height << "x" << width << " with "
      << m.label()
      << (comm != nullptr ? " on " + std::to_string(comm->world_size()) + " GPUs (" + a.precision + ")"
          : gpu           ? " on the GPU (" + a.precision + ")"
                          : "")
      << " in " << rate << "\n";
  return 0;
}

}  // namespace

Subcommand render_subcommand() {
  return {"render", "Render images",
          [](CLI::App& app) -> std::unique_ptr<Command> { return std::make_unique<Render>(app); }};
}

}  // namespace pixsyn::cli
