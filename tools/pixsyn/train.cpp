// pixsyn train: trains a narrow generator with its family's discriminator on the CPU or the GPU
// (train::Trainer): a folder of images or Fashion-MNIST, a run folder with log.csv, checkpoints and
// g_ema.safetensors, resumable. The families and their (size, max_channels) variants: trainable.hpp; each
// family's instantiations live in its own translation units (train_<family>*.cpp).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "distributed.hpp"
#include "options.hpp"
#include "subcommands.hpp"
#include "train_family.hpp"
#include "usage_error.hpp"
#ifdef PIXSYN_WITH_CUDA
#include "pixsyn/backend/cuda/runtime.hpp"
#endif

namespace pixsyn::cli {
namespace {

constexpr const char* fashion_mnist = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";

// Every trainable family; a new one is one line here (and its entry, train_family.hpp).
const std::vector<TrainFamily>& train_families() {
  static const std::vector<TrainFamily> families{detail::cips_skips_train_family(), detail::alis_train_family(),
                                                 detail::creps_train_family()};
  return families;
}

const TrainFamily& train_family(const std::string& name) {
  for (const auto& f : train_families())
    if (name == f.name) return f;
  throw UsageError("--model " + name + " cannot be trained");  // the option's choices make this unreachable
}

// The values of one field over every family's variants, sorted and distinct: the option's choices.
std::vector<int> registered(int TrainVariant::*field) {
  std::vector<int> values;
  for (const auto& f : train_families())
    for (const auto& v : f.variants) values.push_back(v.*field);
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return values;
}

class Train final : public Command {
 public:
  explicit Train(CLI::App& app) {
    std::vector<std::string> names;
    std::string variants;
    for (const auto& f : train_families()) {
      names.push_back(f.name);
      variants += std::string(variants.empty() ? "" : "; ") + f.name + ": " + variant_list(f.variants);
    }
    add_choice_option(app, "--model", a_.model, names, "Generator to train");
    add_integer_choice_option(
        app, "--size", a_.size, registered(&TrainVariant::size),
        "Training image size; the trained pairs with --max-channels (size/width) are " + variants + "; sizes");
    add_integer_choice_option(
        app, "--max-channels", a_.max_channels, registered(&TrainVariant::max_channels),
        "Width cap of every layer of G (cips-skips: hidden, style, blocks; alis, creps: blocks, z, w) "
        "and of D's widths; widths");
    add_choice_option(app, "--device", a_.device, {"cpu", "cuda"}, "Train on the CPU or the GPU (float32)");
    add_choice_option(app, "--precision", a_.precision, {"fp32", "tf32"},
                      "fp32 (default), or tf32 (--device cuda): every fp32 GEMM and convolution on the TF32 tensor "
                      "cores (10-bit mantissa inputs, fp32 accumulation), like torch's allow_tf32");
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
    add_integer_option(app, "--patch", a_.patch, 8, 512,
                       "cips-skips: train on multi-scale patches of this side (a power of two below --size; the "
                       "official --crop): D sees patches of the reals at strides 1, 2, ... size/patch, G renders "
                       "the fakes at their coordinates");
    add_seed_option(app, "--seed", a_.seed, "Seed of the initialisation, data order, latents and noise");
    add_train_eval_options(app, a_.eval);
    app.add_flag("--resume", a_.resume, "Continue from the newest checkpoint in the run folder");
    app.add_flag("-q,--quiet", a_.quiet, "No progress report on stderr");
    add_gpus_option(app, gpus_);
    app.add_flag("!--no-overlap", a_.overlap,
                 "With several ranks: average the gradients after the backward pass instead of during it (the "
                 "same values; docs/distributed.md)");
  }

  void check() const override {
    if (gpus_ > 1 && a_.device != "cuda") throw UsageError("--gpus " + std::to_string(gpus_) + " needs --device cuda");
    if (a_.batch % gpus_ != 0)
      throw UsageError("--batch " + std::to_string(a_.batch) + " does not split over --gpus " + std::to_string(gpus_));
    if (a_.batch > 4 && a_.batch % 4 != 0)
      throw UsageError("--batch " + std::to_string(a_.batch) +
                       " does not split into the discriminator's minibatch-stddev groups of 4");
    const TrainFamily& f = train_family(a_.model);
    const auto variant = std::find(f.variants.begin(), f.variants.end(), TrainVariant{a_.size, a_.max_channels});
    const std::string pair = std::to_string(a_.size) + "/" + std::to_string(a_.max_channels);
    if (variant == f.variants.end())
      throw UsageError("--size " + std::to_string(a_.size) + " --max-channels " + std::to_string(a_.max_channels) +
                       " is not a trained variant of " + a_.model + "; size/max-channels: " + variant_list(f.variants));
    if (a_.patch > 0) {
      const std::string with_patches = variant_list(f.variants, true);
      if (with_patches.empty())
        throw UsageError("--patch is CIPS's patch training: " + a_.model + " trains on full images only");
      if (!variant->patches)
        throw UsageError("--patch: " + a_.model + " " + pair +
                         " trains on full images only; the variants (size/max-channels) that train on patches are " +
                         with_patches);
      if ((a_.patch & (a_.patch - 1)) != 0 || a_.patch >= a_.size)
        throw UsageError("--patch " + std::to_string(a_.patch) + " must be a power of two below --size " +
                         std::to_string(a_.size) + " (8 .. " + std::to_string(a_.size / 2) + ")");
    }
    if (a_.precision == "tf32" && a_.device != "cuda")
      throw UsageError("--precision tf32 needs --device cuda (the CPU trains in fp32)");
#ifndef PIXSYN_WITH_CUDA
    if (a_.device == "cuda") throw UsageError("this pixsyn was built without CUDA (configure with -DPIXSYN_CUDA=ON)");
#endif
  }

  int run() override {
    if (const auto status = launch_ranks(gpus_)) return *status;
    const RankScope rank_scope;
    if (const auto* comm = rank_communicator(a_.device); comm != nullptr && comm->rank() > 0) a_.quiet = true;
#ifdef PIXSYN_WITH_CUDA
    // For the whole process (every rank is one), after the rank picked its GPU.
    if (a_.precision == "tf32") backend::cuda::Context::instance().set_allow_tf32(true);
#endif
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
    train_family(a_.model).train(a_, data);
    return 0;
  }

 private:
  TrainArgs a_;
  std::int64_t gpus_ = 1;
};

}  // namespace

Subcommand train_subcommand() {
  return {"train", "Train a narrow generator on the CPU or the GPU (cips-skips, alis, creps)",
          [](CLI::App& app) -> std::unique_ptr<Command> { return std::make_unique<Train>(app); }};
}

}  // namespace pixsyn::cli
