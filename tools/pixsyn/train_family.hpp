#pragma once
// What `pixsyn train` shares with the per-family training translation units (train_<family>*.cpp): the
// command's arguments, a family's entry, and train_run, the whole run for one generator and discriminator
// type on one device.
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "distributed.hpp"
#include "model_options.hpp"
#include "pixsyn/train/dataset.hpp"
#include "pixsyn/train/trainer.hpp"
#include "progress.hpp"
#include "samples.hpp"
#include "train_eval.hpp"
#include "trainable.hpp"

namespace pixsyn::cli {

struct TrainArgs {
  std::string model = "cips-skips", data, out, device = "cpu", precision = "fp32";
  int size = 32, max_channels = 32;
  std::int64_t batch = 4, steps = 1000, checkpoint_every = 0, sample_every = 0;
  std::int64_t patch = 0;  // CIPS's patch training: the patch side (0: full images)
  std::uint64_t seed = 0;
  bool resume = false, quiet = false;
  bool overlap = true;  // --gpus: average the gradients during the backward pass (--no-overlap: after it)
  TrainEvalArgs eval;   // --eval-every, --eval-n
};

// A trainable family: its variants (trainable.hpp) and the run of one of them (a registered (size,
// max_channels) and device; the command checks both before it calls `train`). Every family trains on the CPU
// and, in a pixsyn built with CUDA, on the GPU.
struct TrainFamily {
  const char* name;
  std::span<const TrainVariant> variants;
  void (*train)(const TrainArgs& args, const train::Dataset& data);
};

namespace detail {

// The entries, each defined in its family's translation unit.
TrainFamily cips_skips_train_family();
TrainFamily alis_train_family();
TrainFamily creps_train_family();

// The images of a sample grid.
inline constexpr std::int64_t samples_per_grid = 16;

// The run: G, G_ema and D as built by the caller (on one device), `generate` as train::Trainer takes it
// (generate(G, z, noise seed) -> fakes, or an AdaRecipe), sample(G_ema) -> the samples_per_grid images of a
// grid (the same every time: samples.hpp's latents and noise seed), and the family's TrainerOptions (its
// optimiser, regularisation, EMA and z_dim settings), to which the run adds the batch, steps, seed, run folder
// and hooks. It reports progress unless --quiet, writes the sample grids, resumes on --resume, and writes
// g_ema.safetensors with the metadata that `render --weights` reads (weights_metadata; also steps, batch,
// seed, device, precision); with --eval-every, G_ema's scores in log.csv and on the progress line (train_eval.hpp).
template <class T, class G, class D, class Generate, class Sample>
void train_run(const TrainArgs& a, const train::Dataset& data, G& g, G& g_ema, D& d, Generate generate, Sample sample,
               train::TrainerOptions options) {
  std::unique_ptr<Progress> progress;  // made once the first step (after a resume) is known
  options.batch = a.batch;
  options.steps = a.steps;
  options.seed = a.seed;
  options.checkpoint_every = a.checkpoint_every;
  options.run_dir = a.out;
  // What the run trains: the family's entries (e.g. cips-skips' patch size) and the model's name, size, width.
  options.model.merge(weights_metadata(a.model, a.size, a.max_channels));
  // The device and precision are not part of the model: a run resumes on either.
  options.metadata.insert({{"steps", std::to_string(a.steps)},
                           {"batch", std::to_string(a.batch)},
                           {"seed", std::to_string(a.seed)},
                           {"device", a.device},
                           {"precision", a.precision}});
  options.sample_every = a.sample_every;
  options.communicator = current_communicator();  // --gpus: this process is one rank (distributed.hpp)
  options.overlap_gradients = a.overlap;
  options.sample = [&](std::int64_t step) {
    autograd::no_grad inference;
    write_sample_grid(a.out, step, pixsyn::detail::on_host(sample(std::as_const(g_ema))));
  };
  const auto eval = attach_train_eval(a.eval, a.data, a.device, a.quiet, a.steps, g_ema, options);
  std::int64_t first_step = 0;
  options.progress = [&](std::int64_t step, const train::GanStepLosses& l, double) {
    char losses[96];
    std::snprintf(losses, sizeof losses, "loss_g %.4f, loss_d %.4f", l.loss_g, l.loss_d);
    std::string detail = losses;
    if (eval && !eval->summary().empty()) detail += ", " + eval->summary();
    progress->update(step, (step - first_step) * a.batch, detail);
  };
  train::Trainer<T, G, D, Generate> trainer(g, g_ema, d, data, std::move(generate), std::move(options));
  if (a.resume) {
    if (trainer.resume())
      std::cerr << "resuming from step " << trainer.step() << "\n";
    else if (trainer.rank() == 0)  // the other ranks take rank 0's state
      std::cerr << "no checkpoint in '" << a.out << "'; starting at step 0\n";
  }
  first_step = trainer.step();
  progress = std::make_unique<Progress>(
      Progress::Options{.label = "train", .steps = "steps", .items = "images", .enabled = !a.quiet}, a.steps,
      (a.steps - first_step) * a.batch);
  trainer.run();
}

// The sample function of a generate(G, z, noise seed): G on the run's fixed latents (samples_per_grid, z_dim).
template <class T, class G, class Generate>
auto latent_samples(const TrainArgs& a, Generate generate, std::int64_t z_dim) {
  using Device = typename G::device_type;
  return [generate, z = pixsyn::detail::on_device<Device>(sample_latents(a.seed, samples_per_grid, z_dim)),
          noise_seed = sample_noise_seed(a.seed)](const G& g) {
    return generate(g, Var<T, Device>(z), noise_seed).value();
  };
}

}  // namespace detail
}  // namespace pixsyn::cli
