// pixsyn render: images from a registered generator (random or loaded weights, seeded or given
// latents, any H x W, in tiles), on the CPU or with the fused GPU renderer.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include "model_options.hpp"
#include "pixsyn/coords/grid.hpp"
#include "pixsyn/io/image.hpp"
#include "pixsyn/io/npy.hpp"
#include "pixsyn/models/cips/generator.hpp"
#include "subcommands.hpp"
#ifdef PIXSYN_WITH_CUDA
#include "pixsyn/render/cuda_cips.hpp"
#endif

namespace pixsyn::cli {
namespace {

struct RenderOptions {
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
};

void add_render_options(CLI::App& render, RenderOptions& r) {
  render.add_option("--weights", r.weights, "State dict (.safetensors) to load, validated against the model");
  CLI::Option* latents =
      render.add_option("--latents", r.latents, "Latents z: .npy of float32/float64, shape (batch, style_dim)");
  render.add_option("--seed", r.seed, "Seed of the latents z ~ N(0, I) (Philox)")
      ->capture_default_str()
      ->excludes(latents);
  render.add_option("--batch", r.batch, "Number of seeded latents")
      ->capture_default_str()
      ->check(CLI::PositiveNumber)
      ->excludes(latents);
  render.add_option("--height", r.height, "Image height (default: the model size)")->check(CLI::PositiveNumber);
  render.add_option("--width", r.width, "Image width (default: the model size)")->check(CLI::PositiveNumber);
  render.add_option("--truncation", r.truncation, "psi: w = mean_w + psi (w - mean_w)")->capture_default_str();
  render.add_option("--truncation-samples", r.truncation_samples, "Latents averaged for mean_w")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  render.add_option("--truncation-seed", r.truncation_seed, "Seed of the latents averaged for mean_w")
      ->capture_default_str();
  render.add_option("--noise", r.noise, "Per-pixel noise")
      ->capture_default_str()
      ->check(CLI::IsMember({"off", "seeded"}));
  render.add_option("--noise-seed", r.noise_seed, "Seed of the noise")->capture_default_str();
  render
      .add_option("--tile", r.tile,
                  "Maximum (sample, pixel) pairs rendered at once (default: 65536 on the CPU; on CUDA the most "
                  "that the renderer's 512 MiB workspace holds)")
      ->check(CLI::PositiveNumber);
  render.add_option("--device", r.device, "cpu, or cuda: the fused GPU renderer (cips-skips and cips-res)")
      ->capture_default_str()
      ->check(CLI::IsMember({"cpu", "cuda"}));
  render
      .add_option("--precision", r.precision,
                  "fp32, or bf16 (--device cuda only: bf16 weights and activations, fp32 accumulation)")
      ->capture_default_str()
      ->check(CLI::IsMember({"fp32", "bf16"}));
  render.add_option("--png", r.png, "Write the batch as a PNG grid (values clamped from [-1, 1] to [0, 1])");
  render.add_option("--npy", r.npy, "Write the raw float32 images (B, 3, H, W) as .npy");
  render.add_option("--columns", r.columns, "Columns of the PNG grid (0: about sqrt(B))")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
}

Tensor<float> read_latents(const std::string& path, int style_dim) {
  auto z = io::read_npy<float>(path);
  pixsyn::detail::check(z.rank() == 2 && z.dim(0) > 0 && z.dim(1) == style_dim, "--latents '", path, "' has shape ",
                        z.shape(), "; expected (batch, ", style_dim, ")");
  return z;
}

// On the CPU, in tiles of --tile (sample, pixel) pairs, with progress on stderr.
Tensor<float> render_cpu(const Model& model, const Tensor<float>& w, const coords::PointSet<float>& grid,
                         const RenderOptions& a) {
  render::RenderOptions<float> options{.noise = a.noise == "seeded" ? nn::NoiseMode::seeded : nn::NoiseMode::off,
                                       .noise_seed = a.noise_seed};
  if (a.tile) options.max_pixels = a.tile;
  // Progress only for renders of more than one tile: the first tile already tells.
  const bool tty = isatty(STDERR_FILENO);
  bool reported = false;
  options.progress = [&](std::int64_t done, std::int64_t total) {
    if (done == total && !reported) return;
    reported = true;
    std::cerr << (tty ? "\r" : "") << "rendering: " << 100 * done / total << "% (" << done << " of " << total
              << " points)" << (tty && done < total ? "" : "\n") << std::flush;
  };
  return model.render(w, grid, options);
}

#ifdef PIXSYN_WITH_CUDA
// On the GPU with the fused renderer; --tile 0 (the default) lets its workspace budget choose the tile.
Tensor<float> render_gpu(const Model& model, const Tensor<float>& w, const coords::PointSet<float>& grid,
                         const RenderOptions& a) {
  return model.render_cuda(
      w, grid,
      render::CudaRenderOptions{.precision = a.precision == "bf16" ? render::Precision::bf16 : render::Precision::fp32,
                                .noise = a.noise == "seeded" ? nn::NoiseMode::seeded : nn::NoiseMode::off,
                                .noise_seed = a.noise_seed,
                                .max_pixels = a.tile});
}
#endif

class Render final : public Command {
 public:
  explicit Render(CLI::App& app) {
    add_model_options(app, model_);
    add_render_options(app, options_);
  }

  void check() const override {
    const RenderOptions& a = options_;
    if (a.precision == "bf16" && a.device != "cuda")
      throw UsageError("--precision bf16 needs --device cuda (the CPU renders in fp32)");
#ifndef PIXSYN_WITH_CUDA
    if (a.device == "cuda") throw UsageError("this pixsyn was built without CUDA (configure with -DPIXSYN_CUDA=ON)");
#endif
  }

  int run() override;

 private:
  ModelOptions model_;
  RenderOptions options_;
};

int Render::run() {
  const ModelOptions& m = model_;
  const RenderOptions& a = options_;
  const bool gpu = a.device == "cuda";
  auto model = m.make();
#ifdef PIXSYN_WITH_CUDA
  if (gpu && !model->has_cuda_path())
    throw UsageError(
        pixsyn::detail::concat("model ", m.name, " is not supported on the CUDA fast path; use --device cpu"));
#endif
  const cips::Config& config = model->config();
  if (!a.weights.empty()) model->load(a.weights);
  const Tensor<float> z = a.latents.empty() ? Tensor<float>::randn({a.batch, config.style_dim}, Philox{a.seed})
                                            : read_latents(a.latents, config.style_dim);
  // After the inputs are checked, so that a bad input gives one error line and nothing else.
  if (a.weights.empty())
    std::cerr << "note: no --weights given; using a random initialisation (seed " << m.init_seed << ")\n";
  Tensor<float> w = model->map(z);
  if (a.truncation != 1.0) w = cips::truncate(w, model->mean_w(a.truncation_samples, a.truncation_seed), a.truncation);

  const std::int64_t height = a.height ? a.height : m.size, width = a.width ? a.width : m.size;
  const auto grid = coords::grid<float>(height, width);
  const auto start = std::chrono::steady_clock::now();
#ifdef PIXSYN_WITH_CUDA
  const Tensor<float> images = gpu ? render_gpu(*model, w, grid, a) : render_cpu(*model, w, grid, a);
#else
  const Tensor<float> images = render_cpu(*model, w, grid, a);
#endif
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (!a.npy.empty()) io::write_npy(a.npy, images);
  if (!a.png.empty()) io::write_png(a.png, io::image_grid(images, a.columns, io::ImageRange::signed_unit));
  if (a.npy.empty() && a.png.empty()) std::cerr << "note: no --png or --npy given; the images are not saved\n";

  const double pixels = static_cast<double>(images.dim(0) * height * width);
  char rate[64];
  std::snprintf(rate, sizeof rate, "%.3f s, %.0f pixels/s", seconds, pixels / std::max(seconds, 1e-9));
  std::cout << "rendered " << images.dim(0) << " image" << (images.dim(0) == 1 ? "" : "s") << " of " << height << "x"
            << width << " with " << m.name << "-" << m.size << (gpu ? " on the GPU (" + a.precision + ")" : "")
            << " in " << rate << "\n";
  return 0;
}

}  // namespace

Subcommand render_subcommand() {
  return {"render", "Render images",
          [](CLI::App& app) -> std::unique_ptr<Command> { return std::make_unique<Render>(app); }};
}

}  // namespace pixsyn::cli
