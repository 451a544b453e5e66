// pixsyn consistency: the scale-consistency metric of the CREPS paper (Table 3) for a registered model:
// N latents rendered at R x R and at 2R x 2R points over the same span, the larger render
// area-downsampled to R, PSNR and SSIM averaged over the latents (metrics/scale_consistency.hpp).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>

#include "memory.hpp"
#include "model_options.hpp"
#include "options.hpp"
#include "pixsyn/metrics/scale_consistency.hpp"
#include "progress.hpp"
#include "subcommands.hpp"

namespace pixsyn::cli {
namespace {

constexpr std::int64_t max_latents = 1 << 16, max_batch = 4096, max_tile = std::int64_t(1) << 24;

struct ConsistencyArgs {
  std::string weights;
  std::int64_t n = 16;
  std::uint64_t seed = 0;
  std::int64_t batch = 1;
  std::int64_t tile = RenderSettings{}.tile;
  std::string refinement = "fp32";
  bool quiet = false;
};

class Consistency final : public Command {
 public:
  explicit Consistency(CLI::App& app) {
    add_model_options(app, model_);
    ConsistencyArgs& a = args_;
    add_path_option(app, "--weights", a.weights, "State dict (.safetensors) to load, validated against the model");
    add_integer_option(app, "--n", a.n, 1, max_latents, "Number of latents");
    add_seed_option(app, "--seed", a.seed, "Seed of the latents z ~ N(0, I) (Philox)");
    add_integer_option(app, "--batch", a.batch, 1, max_batch, "Latents rendered at once");
    add_integer_option(app, "--tile", a.tile, 1, max_tile, "Maximum (sample, pixel) pairs rendered at once");
    refinement_ = add_refinement_option(app, a.refinement);
    app.add_flag("-q,--quiet", a.quiet, "No progress report on stderr");
  }

  void check() const override {
    model_.check_given(!args_.weights.empty());
    refinement_given_ = refinement_->count() > 0;
    if (model_.known()) check_refinement_option(refinement_given_, model_.entry());
  }

  int run() override;

 private:
  ModelOptions model_;
  ConsistencyArgs args_;
  CLI::Option* refinement_ = nullptr;      // valid while parsing only
  mutable bool refinement_given_ = false;  // recorded by check(), for run()
};

int Consistency::run() {
  const ConsistencyArgs& a = args_;
  model_.resolve(a.weights);
  check_refinement_option(refinement_given_, model_.entry());
  const ModelOptions& m = model_;
  auto model = m.make();
  const std::int64_t size = m.size, large = 2 * size;
  const RenderSettings settings{.tile = a.tile, .fp16_refinement = a.refinement == "fp16"};
  // A batch at 2R: its images, the clamped and downsampled copies, and the model's working set.
  const std::int64_t batch = std::min(a.batch, a.n);
  const View large_view{.height = large, .width = large};
  const std::uint64_t images =
      saturating_product({std::uint64_t(batch), 3, std::uint64_t(large), std::uint64_t(large), sizeof(float)});
  check_memory(pixsyn::detail::concat("rendering ", batch, " image", batch == 1 ? "" : "s", " of ", large, "x", large),
               saturating_sum({saturating_product({images, 3}), model->working_bytes(batch, large_view, settings)}));
  if (!a.weights.empty()) model->load(a.weights);
  if (a.weights.empty())
    std::cerr << "note: no --weights given; using a random initialisation (seed " << m.init_seed << ")\n";

  const Tensor<float> z = Tensor<float>::randn({a.n, model->latent_dim()}, Philox{a.seed});
  const auto render = [&](std::int64_t first, std::int64_t count, std::int64_t side) {
    return model->render(model->map(z.narrow(first, count).clone()), View{.height = side, .width = side}, settings);
  };
  const std::int64_t pixels_per_latent = size * size + large * large;
  Progress progress({.label = "consistency", .steps = "latents", .items = "pixels", .enabled = !a.quiet}, a.n,
                    a.n * pixels_per_latent);
  const auto result = metrics::scale_consistency(render, a.n, size,
                                                 {.batch = a.batch, .progress = [&](std::int64_t done, std::int64_t) {
                                                    progress.update(done, done * pixels_per_latent);
                                                  }});
  std::cout << "scale consistency of " << m.label() << ": " << a.n << " latent" << (a.n == 1 ? "" : "s") << " (seed "
            << a.seed << ") at " << size << "x" << size << " and " << large << "x" << large
            << " (area-downsampled), values clamped to [-1, 1]\n";
  char line[96];
  std::snprintf(line, sizeof line, "psnr: %.4f ssim: %.6f", result.psnr, result.ssim);
  std::cout << line << "\n";
  return 0;
}

}  // namespace

Subcommand consistency_subcommand() {
  return {"consistency", "Scale consistency (CREPS paper, Table 3): PSNR and SSIM of R against 2R downsampled",
          [](CLI::App& app) -> std::unique_ptr<Command> { return std::make_unique<Consistency>(app); }};
}

}  // namespace pixsyn::cli
