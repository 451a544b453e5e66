// pixsyn eval: FID-IncV3-mixed5 and KID of a registered model's images against real data (a folder or
// Fashion-MNIST), docs/evaluation.md. Latents z ~ N(0, I) from Philox{--seed}; images rendered at the
// model's size, clamped to [-1, 1] and mapped to [0, 1]; ALIS frames at delta 0 between three anchors
// (features.hpp: model_images); with --infinite (ALIS's ∞-FID), consecutive frames of one panorama.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "features.hpp"
#include "model_options.hpp"
#include "options.hpp"
#include "pixsyn/io/image.hpp"
#include "pixsyn/ops/layout.hpp"
#include "pixsyn/ops/shape.hpp"
#include "subcommands.hpp"
#include "usage_error.hpp"

namespace pixsyn::cli {
namespace {

constexpr std::int64_t max_images = std::int64_t(1) << 24;

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
  ModelOptions model_;
  std::string weights_, data_;
  std::int64_t n_ = 1000, data_n_ = 0;
  std::uint64_t seed_ = 0;
  bool infinite_ = false;
  FeatureOptions features_;
};

int Eval::run() {
  model_.resolve(weights_);
  if (infinite_ && !model_.entry().capabilities.anchors)
    throw UsageError(pixsyn::detail::concat("--infinite applies to models with anchors (alis), not to ", model_.name));
  auto model = model_.make();
  if (!weights_.empty()) model->load(weights_);
  if (weights_.empty())
    std::cerr << "note: no --weights given; using a random initialisation (seed " << model_.init_seed << ")\n";
  const std::int64_t size = model->size();
  FeatureExtractor extractor(features_);
  const auto real = data_ == "fashion-mnist" ? extractor.idx(fashion_mnist_images, data_n_ > 0 ? data_n_ : n_)
                                             : extractor.folder(data_, data_n_);
  const std::string source = pixsyn::detail::concat(
      n_, infinite_ ? " consecutive frames of one panorama of " : " images of ", model_.label(),
      weights_.empty() ? " (random initialisation)" : " from '" + weights_ + "'", ", seed ", seed_);
  FeatureSet generated;
  if (infinite_) {
    // The panorama goes through a PNG in the temporary folder (the renderer streams it to a file), then is
    // read back and cut into frames: n · 3 · size² floats in memory.
    const auto png =
        std::filesystem::temp_directory_path() / pixsyn::detail::concat("pixsyn_eval_panorama_", ::getpid(), ".png");
    struct Remove {
      std::filesystem::path path;
      ~Remove() {
        std::error_code ignored;
        std::filesystem::remove(path, ignored);
      }
    } remove{png};
    model->write_panorama({.frames = n_, .seed = seed_}, png);
    const auto panorama = io::read_image(png, {.max_pixels = std::numeric_limits<std::int64_t>::max()});
    generated = extractor.generated(
        n_,
        [&](std::int64_t first, std::int64_t count) {
          std::vector<Tensor<float>> frames;
          for (std::int64_t i = first; i < first + count; ++i)
            frames.push_back(reshape(slice(panorama, 2, i * size, (i + 1) * size), {1, 3, size, size}));
          return concat(frames, 0);
        },
        source);
  } else {
    generated = extractor.generated(
        n_, [&](std::int64_t first, std::int64_t count) { return model_images(*model, seed_, first, count); }, source);
  }
  report_distances(generated, real, features_);
  return 0;
}

}  // namespace

Subcommand eval_subcommand() {
  return {"eval",
          "FID-IncV3-mixed5 and KID of a model's images against real data (comparable only with each other, not "
          "with published FIDs)",
          [](CLI::App& app) -> std::unique_ptr<Command> { return std::make_unique<Eval>(app); }};
}

}  // namespace pixsyn::cli
