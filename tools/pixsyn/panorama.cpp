// pixsyn panorama: an ALIS panorama of N frames (anchors every D/2 frames, each drawn from a seeded
// stream; one can be redrawn from a seed of its own), rendered frame by frame in flat memory, on the CPU,
// one GPU or the GPUs of --gpus (frames round the ranks, render/split.hpp), and streamed to a PNG in frame
// order (render/alis_panorama.hpp).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include "distributed.hpp"
#include "memory.hpp"
#include "model_options.hpp"
#include "options.hpp"
#include "pixsyn/io/output_set.hpp"
#include "pixsyn/render/alis_panorama.hpp"
#include "pixsyn/render/split.hpp"
#include "progress.hpp"
#include "subcommands.hpp"

namespace pixsyn::cli {
namespace {

// A million frames of 1024² is an hour-long film; the PNG's 2^31 - 1 pixels per side bound it further.
constexpr std::int64_t max_frames = 1 << 20;
constexpr double max_truncation = 100;

struct PanoramaArgs {
  std::string weights, png;
  std::int64_t frames = 0;
  std::uint64_t seed = 0;
  std::int64_t resample_anchor = -1;  // none (the option takes 0 and up)
  std::uint64_t anchor_seed = 0;
  double truncation = 1;
  std::string noise = "off";
  std::uint64_t noise_seed = 0;
  std::int64_t line_frames = 0;
  std::string device = "cpu", precision = "fp32";
  std::int64_t gpus = 1;
  bool quiet = false;
};

class Panorama final : public Command {
 public:
  explicit Panorama(CLI::App& app) {
    add_model_options(app, model_);
    PanoramaArgs& a = args_;
    add_path_option(app, "--weights", a.weights, "State dict (.safetensors) to load, validated against the model");
    add_integer_option(app, "--frames", a.frames, 1, max_frames, "Frames of the model's size, left to right")
        ->required();
    add_seed_option(app, "--seed", a.seed, "Seed of the anchor latents: anchor i is row i of its N(0, I) stream");
    CLI::Option* resample = add_integer_option(app, "--resample-anchor", a.resample_anchor, 0, 2 * max_frames,
                                               "Draw this anchor from --anchor-seed's stream instead: only the two "
                                               "intervals beside it change")
                                ->default_str("");
    CLI::Option* anchor_seed =
        add_seed_option(app, "--anchor-seed", a.anchor_seed, "Seed of the resampled anchor's latent");
    resample->needs(anchor_seed);
    anchor_seed->needs(resample);
    add_number_option(app, "--truncation", a.truncation, -max_truncation, max_truncation,
                      "psi: w = w_avg + psi (w - w_avg), for every anchor");
    add_choice_option(app, "--noise", a.noise, {"off", "random", "seeded", "const"},
                      "Noise: random (seeded, continuing along the panorama; seeded is the same), or the constant "
                      "noise_const maps (the same in every frame)");
    add_seed_option(app, "--noise-seed", a.noise_seed, "Seed of the noise");
    add_path_option(app, "--png", a.png, "The panorama as an 8-bit PNG (values clamped from [-1, 1] to [0, 1])")
        ->required();
    add_integer_option(app, "--line-frames", a.line_frames, 0, max_frames,
                       "Frames per line of the picture (0: all on one line, the panorama as one strip)");
    add_choice_option(app, "--device", a.device, {"cpu", "cuda"}, "cpu, or cuda: the frames on the GPU");
    add_precision_option(app, a.precision,
                         "the convolutions with bf16 operands and fp32 accumulation (--device cuda only)");
    add_gpus_option(app, a.gpus);
    app.add_flag("-q,--quiet", a.quiet, "No progress report on stderr");
  }

  void check() const override {
    const PanoramaArgs& a = args_;
    if (a.gpus > 1 && a.device != "cuda") throw UsageError("--gpus " + std::to_string(a.gpus) + " needs --device cuda");
    check_precision_option(a.precision, a.device);
#ifndef PIXSYN_WITH_CUDA
    if (a.device == "cuda") throw UsageError("this pixsyn was built without CUDA (configure with -DPIXSYN_CUDA=ON)");
#endif
    model_.check_given(!a.weights.empty());
    if (model_.known()) check_family(model_.entry());
  }

  int run() override;

 private:
  void check_family(const ModelEntry& entry) const {
    if (!entry.capabilities.anchors)
      throw UsageError(pixsyn::detail::concat("--model ", entry.name,
                                              ": panoramas are ALIS's (frames between anchors); use --model alis"));
    if (args_.device == "cuda" && !entry.capabilities.cuda)
      throw UsageError(pixsyn::detail::concat("model ", entry.name, " has no GPU path; use --device cpu"));
    check_precision_option(args_.precision, entry);
  }

  ModelOptions model_;
  PanoramaArgs args_;
};

int Panorama::run() {
  const PanoramaArgs& a = args_;
  model_.resolve(a.weights);
  check_family(model_.entry());
  const ModelOptions& m = model_;
  io::OutputSet outputs;
  if (!a.weights.empty()) outputs.add_input("--weights", a.weights);
  const std::size_t png = outputs.add_output("--png", a.png);

  auto model = m.make();
  const std::int64_t anchors = model->panorama_anchors(a.frames);
  if (a.resample_anchor >= anchors)
    throw UsageError(pixsyn::detail::concat("--resample-anchor must be between 0 and ", anchors - 1, " for ", a.frames,
                                            " frames (got ", a.resample_anchor, ")"));
  // One frame's forward, one line of frames as bytes (the scratch file is on disk) and one PNG row.
  const std::int64_t side = m.size, per_line = a.line_frames ? std::min(a.line_frames, a.frames) : a.frames;
  check_memory(pixsyn::detail::concat("rendering a panorama of ", a.frames, " frames of ", side, "x", side),
               saturating_sum({model->working_bytes(1, View{.height = side, .width = side}, {}),
                               saturating_product({std::uint64_t(side), std::uint64_t(side), 3, sizeof(float)}),
                               saturating_product({std::uint64_t(per_line), std::uint64_t(side), 3, 2})}));
  // The inputs are checked: --gpus N runs this command again as N ranks, one GPU each.
  if (const auto status = launch_ranks(a.gpus)) return *status;
  const RankScope rank_scope;
  dist::Communicator* comm = rank_communicator(a.device);
  const bool root = comm == nullptr || comm->rank() == 0, quiet = a.quiet || !root;
  if (!a.weights.empty()) model->load(a.weights);
  if (a.weights.empty() && root)
    std::cerr << "note: no --weights given; using a random initialisation (seed " << m.init_seed << ")\n";

  Progress progress({.label = "panorama", .steps = "frames", .enabled = !quiet}, a.frames, a.frames * side * side);
  PanoramaSettings settings{
      .frames = a.frames,
      .seed = a.seed,
      .resampled = {},
      .truncation = a.truncation,
      .noise = a.noise == "random" || a.noise == "seeded" ? nn::NoiseMode::seeded : nn::NoiseMode::off,
      .constant_noise = a.noise == "const",
      .noise_seed = a.noise_seed,
      .bf16 = a.precision == "bf16"};
  if (a.resample_anchor >= 0) settings.resampled[a.resample_anchor] = a.anchor_seed;
  // Each rank renders its frames in order, so one object renders them all (on the GPU: one recorded forward).
  const auto panorama = model->panorama(settings, a.device == "cuda");

  const auto start = std::chrono::steady_clock::now();
  // Frame f is rank f mod N's; rank 0 streams them to the PNG in order as they come (one process: all its own).
  render::UnitGather frames(
      comm, a.frames, [&](std::int64_t f) { return panorama->frames(f, 1); },
      [&](std::int64_t) {
        return Shape{1, 3, side, side};
      });
  if (!frames.gathers()) {
    frames.serve();
    return 0;
  }
  outputs.write(png, [&](const std::filesystem::path& path) {
    render::write_frames_png<float>(a.frames, side, [&](std::int64_t) { return frames.next(); }, path,
                                    {.line_frames = a.line_frames, .progress = [&](std::int64_t done) {
                                       progress.update(done, done * side * side);
                                     }});
  });
  outputs.commit();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  char rate[64];
  std::snprintf(rate, sizeof rate, "%.3f s, %.2f frames/s", seconds, double(a.frames) / std::max(seconds, 1e-9));
  const auto out = io::file_id(STDOUT_FILENO);
  (out && outputs.writes_to(*out) ? std::cerr : std::cout)
      << "rendered a panorama of " << a.frames << " frame" << (a.frames == 1 ? "" : "s") << " (" << anchors
      << " anchors, " << a.frames * side << "x" << side << ") with " << m.label()
      << (comm != nullptr      ? " on " + std::to_string(comm->world_size()) + " GPUs (" + a.precision + ")"
          : a.device == "cuda" ? " on the GPU (" + a.precision + ")"
                               : "")
      << " in " << rate << "\n";
  return 0;
}

}  // namespace

Subcommand panorama_subcommand() {
  return {"panorama", "Render an ALIS panorama to a PNG, frame by frame in flat memory",
          [](CLI::App& app) -> std::unique_ptr<Command> { return std::make_unique<Panorama>(app); }};
}

}  // namespace pixsyn::cli
