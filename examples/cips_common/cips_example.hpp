#pragma once
// Plumbing shared by the CIPS examples: command-line errors as one "error:" line, progress and
// timing output, the registry of instantiated model sizes, and latents from seeds.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>
#include <type_traits>
#include <vector>

#include <pixsyn/coords/grid.hpp>
#include <pixsyn/io/image.hpp>
#include <pixsyn/models/cips.hpp>
#include <pixsyn/nn/serialize.hpp>
#include <pixsyn/render/tiled.hpp>

namespace cips_example {

using namespace pixsyn;

// Parses the command line and runs `body`; bad input and failures print one "error: ..." line and
// give a non-zero exit status, --help prints the usage and exits with 0.
template <class F>
int run(CLI::App& app, int argc, char** argv, F&& body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "error: " << e.what() << " (run with --help for usage)\n";
    return 2;
  }
  try {
    body();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}

// The --out option: a PNG path whose directory must exist, checked before any rendering starts.
inline void add_out_option(CLI::App& app, std::string& out) {
  app.add_option("--out", out, "output PNG")
      ->check(CLI::Validator(
          [](std::string& path) {
            const auto dir = std::filesystem::path(path).parent_path();
            return dir.empty() || std::filesystem::is_directory(dir)
                       ? std::string()
                       : "directory '" + dir.string() + "' does not exist";
          },
          "PNG"));
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A render progress callback: rewrites one stderr line "label: 42% (n / total points)" per tile.
inline std::function<void(std::int64_t, std::int64_t)> progress(std::string label) {
  return [label = std::move(label)](std::int64_t done, std::int64_t total) {
    std::fprintf(stderr, "\r  %s: %3d%% (%lld / %lld points)", label.c_str(), static_cast<int>(100 * done / total),
                 static_cast<long long>(done), static_cast<long long>(total));
    if (done == total) std::fprintf(stderr, "\n");
  };
}

// Render options with tiles of at most `max_pixels` (sample, point) pairs and progress output.
inline render::RenderOptions<float> render_options(std::string label, std::int64_t max_pixels = 1 << 15) {
  render::RenderOptions<float> options;
  options.max_pixels = max_pixels;
  options.progress = progress(std::move(label));
  return options;
}

// The model sizes the examples instantiate: cips::Skips<64> (quick on a CPU) and cips::Skips<256>
// (the size of the official FFHQ and LSUN Churches checkpoints).
inline const std::vector<int> sizes = {64, 256};

// Calls f(std::type_identity<Skips<size>>{}).
template <class F>
void with_skips(int size, F&& f) {
  if (size == 64)
    f(std::type_identity<cips::Skips<64>>{});
  else if (size == 256)
    f(std::type_identity<cips::Skips<256>>{});
  else
    throw Error("model size " + std::to_string(size) + " is not instantiated (choose 64 or 256)");
}

// A seeded random initialisation, or the weights of a converted checkpoint of the same architecture.
template <class G>
void load_or_init(G& g, const std::string& weights, std::uint64_t model_seed) {
  if (weights.empty()) {
    std::cout << "model: cips::Skips<" << G::config.size << "> random init (seed " << model_seed << ", "
              << g.parameter_count() << " parameters; no trained weights)\n";
    return;
  }
  nn::load_safetensors(g, weights);
  std::cout << "model: cips::Skips<" << G::config.size << "> from " << weights << "\n";
}

// z (seeds.size(), style_dim): row k is N(0, I) from Philox{seeds[k]}, so a seed names the same
// latent in every example.
inline Tensor<float> latents(std::int64_t style_dim, const std::vector<std::uint64_t>& seeds) {
  auto z = Tensor<float>::empty({static_cast<std::int64_t>(seeds.size()), style_dim});
  for (std::size_t k = 0; k < seeds.size(); ++k) {
    const auto row = Tensor<float>::randn({style_dim}, Philox{seeds[k]});
    std::copy(row.data(), row.data() + style_dim, z.data() + static_cast<std::int64_t>(k) * style_dim);
  }
  return z;
}

// w of the given seeds, truncated towards the mean w by psi when psi < 1.
template <class G>
Tensor<float> styles(const G& g, const std::vector<std::uint64_t>& seeds, double psi) {
  auto w = g.map(latents(G::config.style_dim, seeds));
  if (psi < 1) w = cips::truncate(w, g.mean_w(4096, Philox{0x5eed}), psi);
  return w;
}

// Prints the value range of generator output: an untrained CIPS is not calibrated to [-1, 1].
inline void print_range(const char* what, const Tensor<float>& x) {
  double lo = x.data()[0], hi = lo, sum = 0, sq = 0;
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const double v = x.data()[i];
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    sum += v;
    sq += v * v;
  }
  const double n = static_cast<double>(x.numel()), mean = sum / n;
  std::printf("%s: values in [%.2f, %.2f], mean %.2f, std %.2f\n", what, lo, hi, mean,
              std::sqrt(std::max(0.0, sq / n - mean * mean)));
}

// Writes a batch (B, 3, H, W) of generator output (nominally [-1, 1]) as one PNG, `columns` per row.
inline void write_batch_png(const std::filesystem::path& path, const Tensor<float>& images, std::int64_t columns) {
  io::write_png(path, io::image_grid(images, columns, io::ImageRange::signed_unit));
  std::cout << "wrote " << path.string() << "\n";
}

}  // namespace cips_example
