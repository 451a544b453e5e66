// pixsyn render: images from a registered generator (random or loaded weights, seeded or given
// latents, any H x W, in tiles), on the CPU or with the fused GPU renderer.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "memory.hpp"
#include "model_options.hpp"
#include "options.hpp"
#include "pixsyn/coords/grid.hpp"
#include "pixsyn/core/finite.hpp"
#include "pixsyn/io/image.hpp"
#include "pixsyn/io/npy.hpp"
#include "pixsyn/io/output_set.hpp"
#include "pixsyn/models/cips/generator.hpp"
#include "progress.hpp"
#include "subcommands.hpp"
#ifdef PIXSYN_WITH_CUDA
#include "pixsyn/render/cuda_cips.hpp"
#endif

namespace pixsyn::cli {
namespace {

// The accepted ranges (docs/cli.md lists them). A side of 65536 is 64 times the largest training size;
// memory, not these bounds, is what limits a render in practice, and it is checked before rendering.
constexpr std::int64_t max_side = 65536, max_batch = 65536, max_columns = 65536;
constexpr std::int64_t max_tile = std::int64_t(1) << 24;
constexpr std::int64_t max_truncation_samples = std::int64_t(1) << 16;
constexpr double max_truncation = 100;

struct RenderArgs {
  std::string weights;
  std::string latents;
  std::uint64_t seed = 0;
  std::int64_t batch = 1;
  std::int64_t height = 0, width = 0;  // 0: the model size
  double truncation = 1.0;
  std::int64_t truncation_samples = 4096;
  std::uint64_t truncation_seed = 0;
  std::string noise = "off";
  std::uint64_t noise_seed = 0;
  std::int64_t tile = 0;  // 0: the device's default
  std::string device = "cpu", precision = "fp32";
  std::string png, npy;
  std::int64_t columns = 0;
  bool quiet = false;
};

void add_render_options(CLI::App& render, RenderArgs& r) {
  add_path_option(render, "--weights", r.weights, "State dict (.safetensors) to load, validated against the model");
  CLI::Option* latents =
      add_path_option(render, "--latents", r.latents, "Latents z: .npy of float32/float64, shape (batch, style_dim)");
  add_seed_option(render, "--seed", r.seed, "Seed of the latents z ~ N(0, I) (Philox)")->excludes(latents);
  add_integer_option(render, "--batch", r.batch, 1, max_batch, "Number of seeded latents")->excludes(latents);
  add_integer_option(render, "--height", r.height, 1, max_side, "Image height (default: the model size)")
      ->default_str("");
  add_integer_option(render, "--width", r.width, 1, max_side, "Image width (default: the model size)")->default_str("");
  add_number_option(render, "--truncation", r.truncation, -max_truncation, max_truncation,
                    "psi: w = mean_w + psi (w - mean_w)");
  add_integer_option(render, "--truncation-samples", r.truncation_samples, 1, max_truncation_samples,
                     "Latents averaged for mean_w");
  add_seed_option(render, "--truncation-seed", r.truncation_seed, "Seed of the latents averaged for mean_w");
  add_choice_option(render, "--noise", r.noise, {"off", "seeded"}, "Per-pixel noise");
  add_seed_option(render, "--noise-seed", r.noise_seed, "Seed of the noise");
  add_integer_option(render, "--tile", r.tile, 1, max_tile,
                     "Maximum (sample, pixel) pairs rendered at once (default: 65536 on the CPU; on CUDA the most "
                     "that the renderer's 512 MiB workspace holds)")
      ->default_str("");
  add_choice_option(render, "--device", r.device, {"cpu", "cuda"},
                    "cpu, or cuda: the fused GPU renderer (cips-skips and cips-res)");
  add_choice_option(render, "--precision", r.precision, {"fp32", "bf16"},
                    "fp32, or bf16 (--device cuda only: bf16 weights and activations, fp32 accumulation)");
  add_path_option(render, "--png", r.png, "Write the batch as a PNG grid (values clamped from [-1, 1] to [0, 1])");
  add_path_option(render, "--npy", r.npy, "Write the raw float32 images (B, 3, H, W) as .npy");
  add_integer_option(render, "--columns", r.columns, 0, max_columns, "Columns of the PNG grid (0: about sqrt(B))");
  render.add_flag("-q,--quiet", r.quiet, "No progress report on stderr");
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

// The PNG grid's pixel data must fit stb's int-sized buffers: refused before rendering rather than after.
void check_png_size(std::int64_t batch, std::int64_t height, std::int64_t width, std::int64_t columns) {
  // The grid as io::image_grid lays it out: columns (about sqrt(B) when 0) of at most B images.
  const std::int64_t cols =
      std::min(batch, columns ? columns : static_cast<std::int64_t>(std::ceil(std::sqrt(static_cast<double>(batch)))));
  const std::int64_t rows = (batch + cols - 1) / cols;
  const std::uint64_t bytes =
      saturating_product({saturating_sum({saturating_product({3, std::uint64_t(cols), std::uint64_t(width)}), 1}),
                          std::uint64_t(rows), std::uint64_t(height)});
  pixsyn::detail::check(bytes <= INT_MAX, "--png: a grid of ", rows, " x ", cols, " images of ", height, "x", width,
                        " is more than a PNG can be written with (", INT_MAX,
                        " bytes of pixel data); use --npy, or fewer or smaller images");
}

// At least the memory a render of `batch` images of height x width needs on the host: the images (twice
// on the CPU: (B, P, 3) points, then (B, 3, H, W)), the grid, a tile's activations, and the encoded outputs.
std::uint64_t render_bytes(const RenderArgs& a, const cips::Config& config, std::int64_t batch, std::int64_t height,
                           std::int64_t width) {
  const auto b = std::uint64_t(batch), h = std::uint64_t(height), w = std::uint64_t(width);
  const std::uint64_t images = saturating_product({b, 3, h, w, sizeof(float)});
  const std::uint64_t grid = saturating_product({h, w, 2, sizeof(float)});
  const bool gpu = a.device == "cuda";
  const std::uint64_t pairs = std::min(saturating_product({b, h, w}),
                                       std::uint64_t(a.tile ? a.tile : render::RenderOptions<float>{}.max_pixels));
  const std::uint64_t tile = gpu ? 0 : saturating_product({pairs, 2, std::uint64_t(config.hidden), sizeof(float)});
  const std::uint64_t render = saturating_sum({images, gpu ? 0 : images, grid, tile});
  // Writing: the images, plus the .npy's bytes and the PNG grid (float, then 8-bit, then stb's copy).
  const std::uint64_t write =
      saturating_sum({images, a.npy.empty() ? 0 : images, a.png.empty() ? 0 : saturating_product({images / 4, 6})});
  return std::max(render, write);
}

// On the CPU, in tiles of --tile (sample, pixel) pairs, with progress on stderr.
Tensor<float> render_cpu(const Model& model, const Tensor<float>& w, const coords::PointSet<float>& grid,
                         const RenderArgs& a) {
  render::RenderOptions<float> options{.noise = a.noise == "seeded" ? nn::NoiseMode::seeded : nn::NoiseMode::off,
                                       .noise_seed = a.noise_seed};
  if (a.tile) options.max_pixels = a.tile;
  const std::int64_t batch = w.dim(0), points = grid.size();
  const std::int64_t tile_points = render::tile_points(options.max_pixels, batch);
  const std::int64_t tiles = (points + tile_points - 1) / tile_points;
  Progress progress({.label = "render", .enabled = !a.quiet}, tiles, batch * points);
  options.progress = [&](std::int64_t done, std::int64_t) {
    progress.update((done + tile_points - 1) / tile_points, done * batch);
  };
  return model.render(w, grid, options);
}

#ifdef PIXSYN_WITH_CUDA
// On the GPU with the fused renderer, which renders all tiles in one call: progress says when it starts
// and ends. --tile 0 (the default) lets its workspace budget choose the tile.
Tensor<float> render_gpu(const Model& model, const Tensor<float>& w, const coords::PointSet<float>& grid,
                         const RenderArgs& a) {
  Progress progress({.label = "render (GPU)", .enabled = !a.quiet}, 1, w.dim(0) * grid.size());
  progress.started();
  auto images = model.render_cuda(
      w, grid,
      render::CudaRenderOptions{.precision = a.precision == "bf16" ? render::Precision::bf16 : render::Precision::fp32,
                                .noise = a.noise == "seeded" ? nn::NoiseMode::seeded : nn::NoiseMode::off,
                                .noise_seed = a.noise_seed,
                                .max_pixels = a.tile});
  progress.update(1, w.dim(0) * grid.size());
  return images;
}
#endif

class Render final : public Command {
 public:
  explicit Render(CLI::App& app) {
    add_model_options(app, model_);
    add_render_options(app, args_);
  }

  void check() const override {
    const RenderArgs& a = args_;
    if (a.precision == "bf16" && a.device != "cuda")
      throw UsageError("--precision bf16 needs --device cuda (the CPU renders in fp32)");
#ifndef PIXSYN_WITH_CUDA
    if (a.device == "cuda") throw UsageError("this pixsyn was built without CUDA (configure with -DPIXSYN_CUDA=ON)");
#endif
  }

  int run() override;

 private:
  ModelOptions model_;
  RenderArgs args_;
};

int Render::run() {
  const ModelOptions& m = model_;
  const RenderArgs& a = args_;
  const bool gpu = a.device == "cuda";
  const std::int64_t height = a.height ? a.height : m.size, width = a.width ? a.width : m.size;

  // Every output is checked before any work, against the inputs too.
  io::OutputSet outputs;
  if (!a.weights.empty()) outputs.add_input("--weights", a.weights);
  if (!a.latents.empty()) outputs.add_input("--latents", a.latents);
  const bool save_npy = !a.npy.empty(), save_png = !a.png.empty();
  const std::size_t npy = save_npy ? outputs.add_output("--npy", a.npy) : 0;
  const std::size_t png = save_png ? outputs.add_output("--png", a.png) : 0;

  auto model = m.make();
#ifdef PIXSYN_WITH_CUDA
  if (gpu && !model->has_cuda_path())
    throw UsageError(
        pixsyn::detail::concat("model ", m.name, " is not supported on the CUDA fast path; use --device cpu"));
#endif
  const cips::Config& config = model->config();
  const Tensor<float> z = a.latents.empty() ? Tensor<float>::randn({a.batch, config.style_dim}, Philox{a.seed})
                                            : read_latents(a.latents, config.style_dim);
  const std::int64_t batch = z.dim(0);
  if (save_png) check_png_size(batch, height, width, a.columns);
  check_memory(pixsyn::detail::concat("rendering ", batch, " image", batch == 1 ? "" : "s", " of ", height, "x", width),
               render_bytes(a, config, batch, height, width));
  if (!a.weights.empty()) model->load(a.weights);
  // After the inputs are checked, so that a bad input gives one error line and nothing else.
  if (a.weights.empty())
    std::cerr << "note: no --weights given; using a random initialisation (seed " << m.init_seed << ")\n";
  Tensor<float> w = model->map(z);
  if (a.truncation != 1.0) w = cips::truncate(w, model->mean_w(a.truncation_samples, a.truncation_seed), a.truncation);

  const auto grid = coords::grid<float>(height, width);
  const auto start = std::chrono::steady_clock::now();
#ifdef PIXSYN_WITH_CUDA
  const Tensor<float> images = gpu ? render_gpu(*model, w, grid, a) : render_cpu(*model, w, grid, a);
#else
  const Tensor<float> images = render_cpu(*model, w, grid, a);
#endif
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

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
      << m.name << "-" << m.size << (gpu ? " on the GPU (" + a.precision + ")" : "") << " in " << rate << "\n";
  return 0;
}

}  // namespace

Subcommand render_subcommand() {
  return {"render", "Render images",
          [](CLI::App& app) -> std::unique_ptr<Command> { return std::make_unique<Render>(app); }};
}

}  // namespace pixsyn::cli
