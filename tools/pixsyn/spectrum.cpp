// pixsyn spectrum: the azimuthally averaged power spectra (CIPS paper, Fig. 7; metrics/spectrum.hpp) of a
// registered model's images and of real images at the model's size, written as CSV and as a PNG plot.
// Real images are centre-cropped to a square and resized to the model's size (io::resize_bilinear:
// antialiased when shrinking); generated ones are clamped to [-1, 1] and mapped to [0, 1].
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "features.hpp"
#include "line_plot.hpp"
#include "model_options.hpp"
#include "options.hpp"
#include "pixsyn/io/idx.hpp"
#include "pixsyn/io/image.hpp"
#include "pixsyn/io/image_files.hpp"
#include "pixsyn/io/output_set.hpp"
#include "pixsyn/metrics/spectrum.hpp"
#include "pixsyn/ops/layout.hpp"
#include "pixsyn/ops/shape.hpp"
#include "progress.hpp"
#include "subcommands.hpp"

namespace pixsyn::cli {
namespace {

constexpr std::int64_t max_images = std::int64_t(1) << 20, chunk = 32;

// The spectra of chunks of images, averaged with their image counts as weights.
class SpectrumMean {
 public:
  void add(const Tensor<float>& images) {
    const auto s = metrics::power_spectrum(images);
    if (power_.empty()) {
      frequency_ = s.frequency;
      power_.assign(s.power.size(), 0.0);
    }
    for (std::size_t k = 0; k < power_.size(); ++k) power_[k] += s.power[k] * static_cast<double>(images.dim(0));
    count_ += images.dim(0);
  }
  std::vector<double> power() const {
    auto p = power_;
    for (auto& v : p) v /= static_cast<double>(count_);
    return p;
  }
  const std::vector<double>& frequency() const { return frequency_; }
  std::int64_t count() const { return count_; }

 private:
  std::vector<double> frequency_, power_;
  std::int64_t count_ = 0;
};

// The centre square of a (C, H, W) image, resized to size x size.
Tensor<float> square(const Tensor<float>& image, std::int64_t size) {
  const std::int64_t h = image.dim(1), w = image.dim(2), side = std::min(h, w);
  const auto crop =
      slice(slice(image, 1, (h - side) / 2, (h - side) / 2 + side), 2, (w - side) / 2, (w - side) / 2 + side);
  return io::resize_bilinear(crop, size, size);
}

// log10 of the power against the frequency (rings 1 .. n/2; the mean, ring 0, is left out): real in blue,
// generated in red.
Tensor<float> plot(const std::vector<double>& frequency, const std::vector<double>& real,
                   const std::vector<double>& generated) {
  const auto rings = [](const std::vector<double>& v) { return std::vector<double>(v.begin() + 1, v.end()); };
  return line_plot({{.x = rings(frequency), .y = rings(real), .rgb = {0.1f, 0.3f, 0.9f}},
                    {.x = rings(frequency), .y = rings(generated), .rgb = {0.9f, 0.2f, 0.1f}}},
                   {.log_y = true});
}

class Spectrum final : public Command {
 public:
  explicit Spectrum(CLI::App& app) {
    add_model_options(app, model_);
    add_path_option(app, "--weights", weights_, "State dict (.safetensors) of the model");
    add_path_option(app, "--data", data_, "Real images: a folder of PNG/JPEG images (recursive), or 'fashion-mnist'")
        ->required();
    add_path_option(app, "--out", out_, "The plot (PNG); the numbers go to the same name with .csv")->required();
    add_integer_option(app, "--n", n_, 1, max_images, "Images of each kind (real: the first in sorted order)");
    add_seed_option(app, "--seed", seed_, "Seed of the latents (Philox)");
    app.add_flag("-q,--quiet", quiet_, "No progress report on stderr");
  }

  void check() const override { model_.check_given(!weights_.empty()); }

  int run() override;

 private:
  ModelOptions model_;
  std::string weights_, data_, out_;
  std::int64_t n_ = 64;
  std::uint64_t seed_ = 0;
  bool quiet_ = false;
};

int Spectrum::run() {
  io::OutputSet outputs;
  if (!weights_.empty()) outputs.add_input("--weights", weights_);
  const std::size_t png = outputs.add_output("--out", out_);
  const std::size_t csv = outputs.add_output("--out (.csv)", std::filesystem::path(out_).replace_extension(".csv"));
  model_.resolve(weights_);
  auto model = model_.make();
  if (!weights_.empty()) model->load(weights_);
  if (weights_.empty())
    std::cerr << "note: no --weights given; using a random initialisation (seed " << model_.init_seed << ")\n";
  const std::int64_t size = model->size();

  // Real images, in chunks.
  SpectrumMean real, generated;
  std::vector<Tensor<float>> pending;
  const auto flush = [&](SpectrumMean& mean) {
    if (!pending.empty()) mean.add(concat(pending, 0));
    pending.clear();
  };
  Progress progress({.label = "spectrum", .steps = "images", .items = "images", .enabled = !quiet_}, 2 * n_, 2 * n_);
  std::int64_t skipped = 0;
  if (data_ == "fashion-mnist") {
    const auto array = io::read_idx(fashion_mnist_images);
    const std::int64_t h = array.shape[1], w = array.shape[2];
    for (std::int64_t i = 0; i < std::min(n_, array.shape[0]); ++i) {
      auto image = Tensor<float>::empty({1, h, w});
      for (std::int64_t k = 0; k < h * w; ++k)
        image.data()[k] = static_cast<float>(array.values[static_cast<std::size_t>(i * h * w + k)]) / 255.0f;
      pending.push_back(reshape(square(image, size), {1, 1, size, size}));
      if (std::int64_t(pending.size()) == chunk) flush(real);
      progress.update(i + 1, i + 1);
    }
  } else {
    const auto files = io::image_files(data_, "--data '" + data_ + "': ");
    for (const auto& file : files) {
      if (real.count() + std::int64_t(pending.size()) == n_) break;
      try {
        pending.push_back(reshape(square(io::read_image(file), size), {1, 3, size, size}));
      } catch (const Error& e) {
        ++skipped;
        std::cerr << "warning: skipping an unreadable image: " << e.what() << "\n";
      }
      if (std::int64_t(pending.size()) == chunk) flush(real);
      progress.update(real.count() + std::int64_t(pending.size()), real.count() + std::int64_t(pending.size()));
    }
  }
  flush(real);
  pixsyn::detail::check(real.count() > 0, "--data '", data_, "': no readable image");

  // Generated images, as pixsyn eval and render --seed draw them.
  for (std::int64_t first = 0; first < n_; first += chunk) {
    const std::int64_t count = std::min(chunk, n_ - first);
    generated.add(model_images(*model, seed_, first, count));
    progress.update(n_ + first + count, n_ + first + count);
  }

  const auto real_power = real.power(), generated_power = generated.power();
  outputs.write(csv, [&](const std::filesystem::path& path) {
    std::string text = "frequency,real,generated\n";
    char line[96];
    for (std::size_t k = 0; k < real_power.size(); ++k) {
      std::snprintf(line, sizeof line, "%.6g,%.9g,%.9g\n", real.frequency()[k], real_power[k], generated_power[k]);
      text += line;
    }
    io::write_file_atomic(path, text);
  });
  outputs.write(png, [&](const std::filesystem::path& path) {
    io::write_png(path, plot(real.frequency(), real_power, generated_power));
  });
  outputs.commit();
  std::cout << "real: " << real.count() << " images from '" << data_ << "'"
            << (skipped ? pixsyn::detail::concat(" (", skipped, " unreadable, skipped)") : "") << "\n"
            << "generated: " << generated.count() << " images of " << model_.label() << ", seed " << seed_ << "\n"
            << "plot: " << out_ << " (log10 power against cycles per pixel; real in blue, generated in red), numbers: "
            << std::filesystem::path(out_).replace_extension(".csv").string() << "\n";
  return 0;
}

}  // namespace

Subcommand spectrum_subcommand() {
  return {"spectrum", "Power spectra of a model's images and of real images (CIPS paper, Fig. 7): CSV and PNG plot",
          [](CLI::App& app) -> std::unique_ptr<Command> { return std::make_unique<Spectrum>(app); }};
}

}  // namespace pixsyn::cli
