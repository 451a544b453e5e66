#pragma once
// pixsyn train --eval-every K [--eval-n N]: the FID-IncV3-mixed5 and KID of G_ema against the training data
// during a run (docs/training.md), as log.csv columns and on the progress line. G_ema is scored as
// `pixsyn eval` scores a weights file: its N images for seed 0 (features.hpp: model_images), against the
// data's features, taken once per run before the first step and cached as eval caches them; so the value
// logged at a step is what `pixsyn eval --weights W --data DATA --n N [--device cuda]` prints for G_ema's
// weights of that step. A --device cuda run renders and scores on the GPU.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "features.hpp"
#include "pixsyn/nn/serialize.hpp"
#include "pixsyn/train/trainer.hpp"

namespace CLI {
class App;
}

namespace pixsyn::cli {

struct TrainEvalArgs {
  std::int64_t every = 0;  // 0: no evaluation
  std::int64_t n = 1000;
};

// --eval-every, --eval-n.
void add_train_eval_options(CLI::App& app, TrainEvalArgs& args);

class TrainEval {
 public:
  // The log.csv columns it fills.
  static const std::vector<std::string>& columns();

  // Loads the InceptionV3 and takes (or reads from the feature cache) the features of the training data
  // (a folder: all its images; "fashion-mnist": the first --eval-n): a missing network or unreadable data
  // is an error before the first step. `device`: where the InceptionV3 and the generator run (every variant
  // pixsyn train writes has a CUDA renderer; G_ema's weights are copied to it once per score).
  TrainEval(const TrainEvalArgs& args, const std::string& data, const std::string& device, bool quiet);
  ~TrainEval();

  // Whether step `step` of a run to `steps` is scored: every --eval-every steps, and the last.
  bool due(std::int64_t step, std::int64_t steps) const { return step % args_.every == 0 || step == steps; }
  // Scores the generator that write_weights(path) saves as a weights file pixsyn reads (with the metadata
  // that names its model): the columns' values. The file is temporary.
  std::vector<std::string> evaluate(std::int64_t step,
                                    const std::function<void(const std::filesystem::path&)>& write_weights);
  // "fid 12.3 (step 400, scored in 2.1 s)" for the progress line; empty before the first evaluation.
  const std::string& summary() const { return summary_; }

 private:
  TrainEvalArgs args_;
  FeatureOptions features_;
  std::unique_ptr<FeatureExtractor> extractor_;
  FeatureSet real_;
  std::unique_ptr<Model> model_;  // built from the first weights file's metadata
  std::string label_;
  bool gpu_ = false;
  std::string summary_;
};

// With --eval-every: a TrainEval whose scores of `g_ema` fill options' log columns (null without it, and on
// the ranks of a --gpus run but rank 0).
template <class G>
std::unique_ptr<TrainEval> attach_train_eval(const TrainEvalArgs& args, const std::string& data,
                                             const std::string& device, bool quiet, std::int64_t steps, const G& g_ema,
                                             train::TrainerOptions& options) {
  // Only the rank that writes log.csv (rank 0 of --gpus) scores.
  if (args.every <= 0 || (options.communicator != nullptr && options.communicator->rank() != 0)) return nullptr;
  auto eval = std::make_unique<TrainEval>(args, data, device, quiet);
  options.log_columns = TrainEval::columns();
  options.log_values = [eval = eval.get(), steps, &g_ema, metadata = options.model](std::int64_t step) {
    if (!eval->due(step, steps)) return std::vector<std::string>(TrainEval::columns().size());
    return eval->evaluate(step,
                          [&](const std::filesystem::path& path) { nn::save_safetensors(g_ema, path, metadata); });
  };
  return eval;
}

}  // namespace pixsyn::cli
