// pixsyn: the command-line program. `pixsyn info` describes a registered generator; `pixsyn render`
// renders images from it (random or loaded weights, seeded or given latents, any H x W, in tiles).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

#include "model.hpp"
#include "pixsyn/coords/grid.hpp"
#include "pixsyn/io/image.hpp"
#include "pixsyn/io/npy.hpp"
#include "pixsyn/models/cips/generator.hpp"
#ifdef PIXSYN_WITH_CUDA
#include "pixsyn/render/cuda_cips.hpp"
#endif

namespace pixsyn::cli {
namespace {

struct ModelOptions {
  std::string name;
  int size = 0;
  std::uint64_t init_seed = 0;
};

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
};

const char* to_string(cips::Topology t) {
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

const char* to_string(cips::Embedding e) {
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

const char* to_string(cips::Activation a) { return a == cips::Activation::sine ? "sine" : "leaky_relu"; }

void print_config(const std::string& name, const cips::Config& c) {
  std::ostringstream channels;
  for (int i = 0; i < c.blocks(); ++i) channels << (i ? " " : "") << c.channel(i);
  std::cout << "model:          " << name << "\n"
            << "size:           " << c.size << " (embedding table " << c.size << "x" << c.size << ")\n"
            << "hidden:         " << c.hidden << "\n"
            << "style_dim:      " << c.style_dim << "\n"
            << "mapping:        " << c.mapping_layers << " layers, lr_mul " << c.mapping_lr_mul << "\n"
            << "topology:       " << to_string(c.topology) << "\n"
            << "embedding:      " << to_string(c.embedding) << "\n"
            << "activation:     " << to_string(c.activation) << "\n"
            << "block channels: " << channels.str() << " (channel multiplier " << c.channel_multiplier << ")\n"
            << "noise maps:     " << c.styled_convs() << "\n\n";
}

void print_layer_table(const std::vector<ParameterInfo>& parameters) {
  std::vector<std::string> shapes, counts;
  std::size_t name_width = 4, shape_width = 5, count_width = 10;
  for (const auto& p : parameters) {
    shapes.push_back(p.shape.to_string());
    counts.push_back(std::to_string(p.shape.numel()));
    name_width = std::max(name_width, p.name.size());
    shape_width = std::max(shape_width, shapes.back().size());
    count_width = std::max(count_width, counts.back().size());
  }
  auto row = [&](const std::string& name, const std::string& shape, const std::string& count) {
    std::cout << name << std::string(name_width - name.size() + 2, ' ') << shape
              << std::string(shape_width - shape.size() + 2 + count_width - count.size(), ' ') << count << "\n";
  };
  row("name", "shape", "parameters");
  for (std::size_t i = 0; i < parameters.size(); ++i) row(parameters[i].name, shapes[i], counts[i]);
}

int run_info(const ModelOptions& m) {
  const auto model = make_model(m.name, m.size, m.init_seed);
  print_config(m.name, model->config());
  print_layer_table(model->parameters());
  std::cout << "parameters: " << model->parameter_count() << "\n";
  return 0;
}

Tensor<float> read_latents(const std::string& path, int style_dim) {
  auto z = io::read_npy<float>(path);
  pixsyn::detail::check(z.rank() == 2 && z.dim(0) > 0 && z.dim(1) == style_dim, "--latents '", path, "' has shape ",
                        z.shape(), "; expected (batch, ", style_dim, ")");
  return z;
}

// On the CPU, in tiles of --tile (sample, pixel) pairs, with progress on stderr.
Tensor<float> render_cpu(const Model& model, const Tensor<float>& w, const coords::PointSet<float>& grid,
                         const RenderArgs& a) {
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
                         const RenderArgs& a) {
  return model.render_cuda(
      w, grid,
      render::CudaRenderOptions{.precision = a.precision == "bf16" ? render::Precision::bf16 : render::Precision::fp32,
                                .noise = a.noise == "seeded" ? nn::NoiseMode::seeded : nn::NoiseMode::off,
                                .noise_seed = a.noise_seed,
                                .max_pixels = a.tile});
}
#endif

int run_render(const ModelOptions& m, const RenderArgs& a) {
  const bool gpu = a.device == "cuda";
  if (a.precision == "bf16" && !gpu) throw UsageError("--precision bf16 needs --device cuda (the CPU renders in fp32)");
#ifndef PIXSYN_WITH_CUDA
  if (gpu) throw UsageError("this pixsyn was built without CUDA (configure with -DPIXSYN_CUDA=ON)");
#endif
  auto model = make_model(m.name, m.size, m.init_seed);
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

void add_model_options(CLI::App& command, ModelOptions& m) {
  command
      .add_option(
          "--model", m.name,
          "Generator: " +
              [] {
                std::string names;
                for (const auto& n : model_names()) names += (names.empty() ? "" : ", ") + n;
                return names;
              }())
      ->required();
  command.add_option("--size", m.size, "Size (side of the embedding table): 16, 32, ..., 1024")->required();
  command.add_option("--init-seed", m.init_seed, "Seed of the random initialisation")->capture_default_str();
}

}  // namespace
}  // namespace pixsyn::cli

int main(int argc, char** argv) {
  using namespace pixsyn::cli;
  CLI::App app{"pixsyn: coordinate-based image generators (CIPS)", "pixsyn"};
  app.require_subcommand(1);

  ModelOptions info_model, render_model;
  RenderArgs r;
  CLI::App* info = app.add_subcommand("info", "Print a model's configuration and parameter table");
  add_model_options(*info, info_model);

  CLI::App* render = app.add_subcommand("render", "Render images");
  add_model_options(*render, render_model);
  render->add_option("--weights", r.weights, "State dict (.safetensors) to load, validated against the model");
  CLI::Option* latents =
      render->add_option("--latents", r.latents, "Latents z: .npy of float32/float64, shape (batch, style_dim)");
  render->add_option("--seed", r.seed, "Seed of the latents z ~ N(0, I) (Philox)")
      ->capture_default_str()
      ->excludes(latents);
  render->add_option("--batch", r.batch, "Number of seeded latents")
      ->capture_default_str()
      ->check(CLI::PositiveNumber)
      ->excludes(latents);
  render->add_option("--height", r.height, "Image height (default: the model size)")->check(CLI::PositiveNumber);
  render->add_option("--width", r.width, "Image width (default: the model size)")->check(CLI::PositiveNumber);
  render->add_option("--truncation", r.truncation, "psi: w = mean_w + psi (w - mean_w)")->capture_default_str();
  render->add_option("--truncation-samples", r.truncation_samples, "Latents averaged for mean_w")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  render->add_option("--truncation-seed", r.truncation_seed, "Seed of the latents averaged for mean_w")
      ->capture_default_str();
  render->add_option("--noise", r.noise, "Per-pixel noise")
      ->capture_default_str()
      ->check(CLI::IsMember({"off", "seeded"}));
  render->add_option("--noise-seed", r.noise_seed, "Seed of the noise")->capture_default_str();
  render
      ->add_option("--tile", r.tile,
                   "Maximum (sample, pixel) pairs rendered at once (default: 65536 on the CPU; on CUDA the most "
                   "that the renderer's 512 MiB workspace holds)")
      ->check(CLI::PositiveNumber);
  render->add_option("--device", r.device, "cpu, or cuda: the fused GPU renderer (cips-skips and cips-res)")
      ->capture_default_str()
      ->check(CLI::IsMember({"cpu", "cuda"}));
  render
      ->add_option("--precision", r.precision,
                   "fp32, or bf16 (--device cuda only: bf16 weights and activations, fp32 accumulation)")
      ->capture_default_str()
      ->check(CLI::IsMember({"fp32", "bf16"}));
  render->add_option("--png", r.png, "Write the batch as a PNG grid (values clamped from [-1, 1] to [0, 1])");
  render->add_option("--npy", r.npy, "Write the raw float32 images (B, 3, H, W) as .npy");
  render->add_option("--columns", r.columns, "Columns of the PNG grid (0: about sqrt(B))")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::cerr << "error: " << e.what() << " (see pixsyn --help)\n";
    return 2;
  }
  try {
    return info->parsed() ? run_info(info_model) : run_render(render_model, r);
  } catch (const UsageError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
