// pixsyn train: trains a narrow CIPS generator with rosinality's discriminator on the CPU (train::Trainer):
// a folder of images or Fashion-MNIST, a run folder with log.csv, checkpoints and g_ema.safetensors, resumable.
// A first version: cips-skips only, sizes 16, 32 and 64, widths (--max-channels) 16, 32 and 64.
#include <CLI/CLI.hpp>
#include <array>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "model_options.hpp"
#include "options.hpp"
#include "pixsyn/models/cips.hpp"
#include "pixsyn/nn/rosinality_discriminator.hpp"
#include "pixsyn/train/trainer.hpp"
#include "progress.hpp"
#include "samples.hpp"
#include "subcommands.hpp"
#include "usage_error.hpp"

namespace pixsyn::cli {
namespace {

constexpr std::array<int, 3> train_sizes{16, 32, 64};
constexpr std::array<int, 3> train_widths{16, 32, 64};
constexpr std::int64_t samples_per_grid = 16;
constexpr const char* fashion_mnist = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";

struct TrainArgs {
  std::string model = "cips-skips", data, out;
  int size = 32, max_channels = 32;
  std::int64_t batch = 4, steps = 1000, checkpoint_every = 0, sample_every = 0;
  std::uint64_t seed = 0;
  bool resume = false, quiet = false;
};

// CIPSskip with hidden, style and every block width equal to `width`.
template <int S, int W>
constexpr cips::Config narrow_cips{.size = S, .hidden = W, .style_dim = W, .max_channels = W};

// Trains CIPSskip<S, W>: the whole run, from the command's arguments.
template <int S, int W>
void train_cips(const TrainArgs& a, const train::Dataset& data) {
  using G = cips::Generator<narrow_cips<S, W>, float>;
  using D = nn::RosinalityDiscriminator<float>;
  G g(a.seed), g_ema(a.seed);
  D d({.size = S, .max_channels = W}, a.seed + 1);
  const auto generate = [](const G& gen, const Var<float>& z, std::uint64_t noise_seed) {
    nn::NoiseSource<float> noise;
    noise.mode = nn::NoiseMode::seeded;
    noise.seed = noise_seed;
    return gen.synthesize_training(gen.map(z), noise);
  };
  std::unique_ptr<Progress> progress;  // made once the first step (after a resume) is known
  train::TrainerOptions options{.batch = a.batch,
                                .steps = a.steps,
                                .seed = a.seed,
                                .z_dim = W,
                                .checkpoint_every = a.checkpoint_every,
                                .run_dir = a.out,
                                .model = weights_metadata(a.model, S, W)};
  options.metadata.insert(
      {{"steps", std::to_string(a.steps)}, {"batch", std::to_string(a.batch)}, {"seed", std::to_string(a.seed)}});
  options.sample_every = a.sample_every;
  const Tensor<float> sample_z = sample_latents(a.seed, samples_per_grid, W);
  options.sample = [&](std::int64_t step) {
    autograd::no_grad inference;
    write_sample_grid(a.out, step, generate(g_ema, Var<float>(sample_z), sample_noise_seed(a.seed)).value());
  };
  std::int64_t first_step = 0;
  options.progress = [&](std::int64_t step, const train::GanStepLosses& l, double) {
    char losses[96];
    std::snprintf(losses, sizeof losses, "loss_g %.4f, loss_d %.4f", l.loss_g, l.loss_d);
    progress->update(step, (step - first_step) * a.batch, losses);
  };
  train::Trainer<float, G, D, decltype(generate)> trainer(g, g_ema, d, data, generate, options);
  if (a.resume) {
    if (trainer.resume())
      std::cerr << "resuming from step " << trainer.step() << "\n";
    else
      std::cerr << "no checkpoint in '" << a.out << "'; starting at step 0\n";
  }
  first_step = trainer.step();
  progress = std::make_unique<Progress>(
      Progress::Options{.label = "train", .steps = "steps", .items = "images", .enabled = !a.quiet}, a.steps,
      (a.steps - first_step) * a.batch);
  trainer.run();
}

// The (size, width) instantiation, chosen at run time (the options admit only registered values).
template <int S, std::size_t... J>
void dispatch_width(const TrainArgs& a, const train::Dataset& data, std::index_sequence<J...>) {
  (void)((a.max_channels == train_widths[J] ? (train_cips<S, train_widths[J]>(a, data), true) : false) || ...);
}

template <std::size_t... I>
void dispatch(const TrainArgs& a, const train::Dataset& data, std::index_sequence<I...>) {
  (void)((a.size == train_sizes[I]
              ? (dispatch_width<train_sizes[I]>(a, data, std::make_index_sequence<train_widths.size()>{}), true)
              : false) ||
         ...);
}

class Train final : public Command {
 public:
  explicit Train(CLI::App& app) {
    add_choice_option(app, "--model", a_.model, {"cips-skips"}, "Generator to train (more families to come)");
    add_integer_choice_option(app, "--size", a_.size, train_sizes, "Training image size");
    add_integer_choice_option(app, "--max-channels", a_.max_channels, train_widths,
                              "Width of every layer of G (hidden, style, blocks) and cap of D's widths");
    add_path_option(app, "--data", a_.data, "Folder of PNG/JPEG images (recursive), or 'fashion-mnist'")->required();
    add_path_option(app, "--out", a_.out, "Run folder: log.csv, checkpoints, g_ema.safetensors")->required();
    add_integer_option(app, "--batch", a_.batch, 1, 4096,
                       "Images per step (a multiple of 4 when above 4: D's minibatch-stddev groups)");
    add_integer_option(app, "--steps", a_.steps, 0, std::int64_t(1) << 40, "Train until this many steps are done");
    add_integer_option(app, "--checkpoint-every", a_.checkpoint_every, 0, std::int64_t(1) << 40,
                       "Also checkpoint every this many steps (0: only at the end)");
    add_integer_option(app, "--sample-every", a_.sample_every, 0, std::int64_t(1) << 40,
                       "Also write RUN_DIR/samples/step-<N>.png, G_ema on 16 fixed latents, every this many steps "
                       "(0: only at the end)");
    add_seed_option(app, "--seed", a_.seed, "Seed of the initialisation, data order, latents and noise");
    app.add_flag("--resume", a_.resume, "Continue from the newest checkpoint in the run folder");
    app.add_flag("-q,--quiet", a_.quiet, "No progress report on stderr");
  }

  void check() const override {
    if (a_.batch > 4 && a_.batch % 4 != 0)
      throw UsageError("--batch " + std::to_string(a_.batch) +
                       " does not split into the discriminator's minibatch-stddev groups of 4");
  }

  int run() override {
    // Every image of a folder is decoded before training: a progress report of its own.
    std::optional<Progress> loading;
    const train::DatasetOptions options{
        .size = a_.size, .crop = train::Crop::random, .progress = [&](std::int64_t done, std::int64_t total) {
          if (!loading)
            loading.emplace(
                Progress::Options{.label = "data", .steps = "images", .items = "images", .enabled = !a_.quiet}, total,
                total);
          loading->update(done, done);
        }};
    const auto data = a_.data == "fashion-mnist" ? train::Dataset::idx(fashion_mnist, options)
                                                 : train::Dataset::folder(a_.data, options);
    loading.reset();
    if (!a_.quiet) std::cerr << "data: " << data.size() << " images (" << data.skipped() << " skipped)\n";
    dispatch(a_, data, std::make_index_sequence<train_sizes.size()>{});
    return 0;
  }

 private:
  TrainArgs a_;
};

}  // namespace

Subcommand train_subcommand() {
  return {"train", "Train a generator (CPU; a first version: narrow CIPSskip at 16-64)",
          [](CLI::App& app) -> std::unique_ptr<Command> { return std::make_unique<Train>(app); }};
}

}  // namespace pixsyn::cli
