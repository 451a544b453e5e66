#include "train_eval.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "model_options.hpp"
#include "options.hpp"

namespace pixsyn::cli {
namespace {

constexpr std::int64_t max_images = std::int64_t(1) << 24;
// The latents of the scored images: pixsyn eval's default seed, the same at every step.
constexpr std::uint64_t eval_seed = 0;

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

}  // namespace

void add_train_eval_options(CLI::App& app, TrainEvalArgs& args) {
  add_integer_option(app, "--eval-every", args.every, 0, std::int64_t(1) << 40,
                     "Also score G_ema every this many steps and at the end: FID-IncV3-mixed5 and KID of --eval-n "
                     "images against the training data, into log.csv and the progress line (needs "
                     "tools/data/inception.sh; 0: never)");
  add_integer_option(app, "--eval-n", args.n, 2, max_images, "Images of G_ema per score (--eval-every)");
}

const std::vector<std::string>& TrainEval::columns() {
  static const std::vector<std::string> names{"fid_incv3_mixed5", "kid_incv3_mixed5"};
  return names;
}

TrainEval::TrainEval(const TrainEvalArgs& args, const std::string& data, const std::string& device, bool quiet)
    : args_(args), features_{.device = device, .quiet = quiet} {
  extractor_ = std::make_unique<FeatureExtractor>(features_);
  real_ = data == "fashion-mnist" ? extractor_->idx(fashion_mnist_images, args.n) : extractor_->folder(data);
  if (!quiet) std::cerr << "eval: " << real_.source << " (" << metric_name << ", every " << args.every << " steps)\n";
  // Generated images are scored while the training's progress line is up: no second progress report.
  extractor_->set_progress(false);
}

TrainEval::~TrainEval() = default;

std::vector<std::string> TrainEval::evaluate(std::int64_t step,
                                             const std::function<void(const std::filesystem::path&)>& write_weights) {
  const auto start = std::chrono::steady_clock::now();
  const auto file =
      std::filesystem::temp_directory_path() / pixsyn::detail::concat("pixsyn_train_eval_", ::getpid(), ".safetensors");
  struct Remove {
    std::filesystem::path path;
    ~Remove() {
      std::error_code ignored;
      std::filesystem::remove(path, ignored);
    }
  } remove{file};
  write_weights(file);
  if (!model_) {
    ModelOptions options;
    options.resolve(file.string());
    model_ = options.make();
    label_ = options.label();
    gpu_ = render_on_gpu(*model_, label_, features_);
  }
  model_->load(file);
  const auto generated = extractor_->generated(
      args_.n,
      [&](std::int64_t first, std::int64_t count) { return model_images(*model_, eval_seed, first, count, gpu_); },
      label_);
  // The data's set second, as pixsyn eval reports it; a small set's full-rank warning only at the first score.
  const auto d = distances(generated, real_, features_, summary_.empty());
  // What a score costs, next to it: the training pauses for it.
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.1f s",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  summary_ = pixsyn::detail::concat("fid ", number(d.fid), " (step ", step, ", scored in ", seconds, ")");
  return {number(d.fid), number(d.kid.mean)};
}

}  // namespace pixsyn::cli
