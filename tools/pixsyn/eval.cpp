// pixsyn eval: FID-IncV3-mixed5 and KID of a registered model's images against real data (a folder or
// Fashion-MNIST), docs/evaluation.md. Latents z ~ N(0, I) from Philox{--seed}; images rendered at the
// model's size, clamped to [-1, 1] and mapped to [0, 1]; ALIS frames at delta 0 between three anchors
// (features.hpp: model_images).
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "features.hpp"
#include "model_options.hpp"
#include "options.hpp"
#include "subcommands.hpp"

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
    add_feature_options(app, features_);
  }

  void check() const override { check_feature_options(features_); }

  int run() override;

 private:
  ModelOptions model_;
  std::string weights_, data_;
  std::int64_t n_ = 1000, data_n_ = 0;
  std::uint64_t seed_ = 0;
  FeatureOptions features_;
};

int Eval::run() {
  auto model = model_.make();
  if (!weights_.empty()) model->load(weights_);
  if (weights_.empty())
    std::cerr << "note: no --weights given; using a random initialisation (seed " << model_.init_seed << ")\n";
  const std::int64_t size = model->size();
  FeatureExtractor extractor(features_);
  const auto real = data_ == "fashion-mnist" ? extractor.idx(fashion_mnist_images, data_n_ > 0 ? data_n_ : n_)
                                             : extractor.folder(data_, data_n_);
  const auto generated = extractor.generated(
      n_, [&](std::int64_t first, std::int64_t count) { return model_images(*model, seed_, first, count); },
      pixsyn::detail::concat(n_, " images of ", model_.name, "-", size,
                             weights_.empty() ? " (random initialisation)" : " from '" + weights_ + "'", ", seed ",
                             seed_));
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
