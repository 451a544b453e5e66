// pixsyn eval: FID-IncV3-mixed5 and KID of a registered model's images against real data (a folder or
// Fashion-MNIST), docs/evaluation.md. Latents z ~ N(0, I) from Philox{--seed}; images rendered at the
// model's size, clamped to [-1, 1] and mapped to [0, 1]; ALIS frames at delta 0 between three anchors
// (features.hpp: model_images); with --infinite (ALIS's ∞-FID), consecutive frames of one panorama. With
// --device cuda the generator renders on the GPU too where it has a CUDA path.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "features.hpp"
#include "model_options.hpp"
#include "options.hpp"
#include "pixsyn/io/image.hpp"
#include "subcommands.hpp"
#include "usage_error.hpp"

namespace pixsyn::cli {
namespace {

constexpr std::int64_t max_images = std::int64_t(1) << 24;

// A folder that outputs go into, made if missing: refused when it holds anything (so that no input and no
// earlier result is overwritten or mixed in).
void check_new_folder(const std::string& option, const std::filesystem::path& folder) {
  std::error_code error;
  if (std::filesystem::exists(folder, error)) {
    if (!std::filesystem::is_directory(folder, error))
      throw UsageError(pixsyn::detail::concat(option, " '", folder.string(), "' is not a folder"));
    if (!std::filesystem::is_empty(folder, error))
      throw UsageError(pixsyn::detail::concat(option, " '", folder.string(), "' is not empty; give a new folder"));
  }
  std::filesystem::create_directories(folder, error);
  pixsyn::detail::check(!error, option, " '", folder.string(), "': cannot make the folder: ", error.message());
}

class Eval final : public Command {
 public:
  explicit Eval(CLI::App& app) {
    add_model_options(app, model_);
    add_path_option(app, "--weights", weights_, "State dict (.safetensors) of the model");
    add_path_option(app, "--data", data_, "Real images: a folder of PNG/JPEG images (recursive), or 'fashion-mnist'")
        ->required();
    add_integer_option(app, "--n", n_, 2, max_images, "Generated images");
    add_integer_option(app, "--data-n", data_n_, 0, max_images,
                       "Real images: the first this many in sorted order (0: all of a folder; --n of fashion-mnist)");
    add_seed_option(app, "--seed", seed_, "Seed of the latents (Philox)");
    app.add_flag("--infinite", infinite_,
                 "ALIS: ∞-FID, the --n frames of one panorama (consecutive, not overlapping) instead of --n "
                 "independent frames");
    add_path_option(app, "--save-images", save_images_,
                    "Also write the generated images as PNGs (image-000000.png, ...) into this folder, which must be "
                    "new or empty");
    add_feature_options(app, features_);
  }

  void check() const override {
    check_feature_options(features_);
    model_.check_given(!weights_.empty());
    if (infinite_ && model_.known() && !model_.entry().capabilities.anchors)
      throw UsageError(
          pixsyn::detail::concat("--infinite cuts a panorama into frames: it applies to models with "
                                 "anchors (alis), not to ",
                                 model_.name));
  }

  int run() override;

 private:
  void save_images(const Tensor<float>& images, std::int64_t first) const;

  ModelOptions model_;
  std::string weights_, data_, save_images_;
  std::int64_t n_ = 1000, data_n_ = 0;
  std::uint64_t seed_ = 0;
  bool infinite_ = false;
  FeatureOptions features_;
};

int Eval::run() {
  model_.resolve(weights_);
  if (infinite_ && !model_.entry().capabilities.anchors)
    throw UsageError(pixsyn::detail::concat("--infinite applies to models with anchors (alis), not to ", model_.name));
  if (!save_images_.empty()) check_new_folder("--save-images", save_images_);
  auto model = model_.make();
  if (!weights_.empty()) model->load(weights_);
  if (weights_.empty())
    std::cerr << "note: no --weights given; using a random initialisation (seed " << model_.init_seed << ")\n";
  FeatureExtractor extractor(features_);
  const auto real = data_ == "fashion-mnist" ? extractor.idx(fashion_mnist_images, data_n_ > 0 ? data_n_ : n_)
                                             : extractor.folder(data_, data_n_);
  const std::string source = pixsyn::detail::concat(
      n_, infinite_ ? " consecutive frames of one panorama of " : " images of ", model_.label(),
      weights_.empty() ? " (random initialisation)" : " from '" + weights_ + "'", ", seed ", seed_);
  const bool gpu = render_on_gpu(*model, model_.label(), features_);
  // --infinite: the frames as pixsyn panorama --frames N --seed S draws them, left to right.
  std::unique_ptr<PanoramaFrames> panorama;
  if (infinite_) panorama = model->panorama({.frames = n_, .seed = seed_}, gpu);
  const auto generated = extractor.generated(
      n_,
      [&](std::int64_t first, std::int64_t count) {
        auto images =
            infinite_ ? unit_range(panorama->frames(first, count)) : model_images(*model, seed_, first, count, gpu);
        if (!save_images_.empty()) save_images(images, first);
        return images;
      },
      source);
  report_distances(generated, real, features_);
  return 0;
}

// Images first, first + 1, ... as <folder>/image-<index>.png, 8-bit.
void Eval::save_images(const Tensor<float>& images, std::int64_t first) const {
  for (std::int64_t i = 0; i < images.dim(0); ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "image-%06lld.png", static_cast<long long>(first + i));
    io::write_png(std::filesystem::path(save_images_) / name,
                  images.narrow(i, 1).clone().reshape({images.dim(1), images.dim(2), images.dim(3)}));
  }
}

}  // namespace

Subcommand eval_subcommand() {
  return {"eval",
          "FID-IncV3-mixed5 and KID of a model's images against real data (comparable only with each other, not "
          "with published FIDs)",
          [](CLI::App& app) -> std::unique_ptr<Command> { return std::make_unique<Eval>(app); }};
}

}  // namespace pixsyn::cli
