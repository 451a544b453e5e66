#include <doctest/doctest.h>

#include <pixsyn/dist/in_process.hpp>
#include <pixsyn/models/alis.hpp>
#include <pixsyn/models/creps.hpp>
#include <pixsyn/nn/stylegan2_discriminator.hpp>
#include <pixsyn/train/alis_recipe.hpp>
#include <pixsyn/train/creps_recipe.hpp>

#include <cmath>
#include <filesystem>
#include <string>

#include "support/temp_files.hpp"
#include "tiny_ada_models.hpp"

using namespace pixsyn;

namespace {

using test::tiny_alis;
using test::tiny_creps;
using TinyAlis = alis::Generator<tiny_alis, float>;
using TinyCreps = creps::Generator<tiny_creps, float>;
using TinyD = nn::StyleGan2Discriminator<float>;

void write_images(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  for (int i = 0; i < 6; ++i)
    io::write_png(dir / ("image" + std::to_string(i) + ".png"),
                  Tensor<float>::rand({3, 9 + i, 10}, Philox{std::uint64_t(i)}));
}

// Trains a fresh tiny G (seed 3) with the family's official settings in `run` up to `steps` at `batch` images
// a step (as a rank of `comm` when given); returns G's state (with its buffers).
template <class G, class Recipe>
nn::StateDict<float> run_training(const std::filesystem::path& data_dir, const std::filesystem::path& run,
                                  std::int64_t steps, bool resume,
                                  train::TrainerOptions (*settings)(train::TrainerOptions),
                                  dist::Communicator* comm = nullptr, bool overlap = true, std::int64_t batch = 4) {
  G g(3), g_ema(3);
  Recipe recipe;
  if constexpr (requires { Recipe::set_shift_strength(g, 0.0); }) {
    Recipe::set_shift_strength(g, 0);
    Recipe::set_shift_strength(g_ema, 0);
  }
  TinyD d(test::tiny_ada_d, 4);
  const auto data = train::Dataset::folder(data_dir, {.size = 8, .crop = train::Crop::random});
  train::Trainer<float, G, TinyD, Recipe> trainer(g, g_ema, d, data, recipe,
                                                  settings({.batch = batch,
                                                            .steps = steps,
                                                            .seed = 9,
                                                            .z_dim = 8,
                                                            .run_dir = run,
                                                            .metadata = {{"model", "tiny"}},
                                                            .communicator = comm,
                                                            .overlap_gradients = overlap}));
  if (resume) REQUIRE(trainer.resume());
  trainer.run();
  CHECK(trainer.step() == steps);
  // Every optimizer step, path-length and R1 ones included, found its gradients averaged during the pass.
  if (comm != nullptr && overlap) CHECK(trainer.overlap_counts().after_backward == 0);
  if (comm != nullptr && overlap) CHECK(trainer.overlap_counts().overlapped >= 2 * steps);
  return g.state_dict();
}

double largest_difference(const nn::StateDict<float>& a, const nn::StateDict<float>& b) {
  double out = 0;
  for (const auto& [name, value] : a)
    for (std::int64_t i = 0; i < value.numel(); ++i)
      out = std::max(out, double(std::abs(value.data()[i] - b.at(name).data()[i])));
  return out;
}

train::TrainerOptions alis_settings(train::TrainerOptions o) { return train::alis_trainer_options(o); }
train::TrainerOptions creps_settings(train::TrainerOptions o) { return train::creps_trainer_options(o, 8); }

template <class G, class Recipe>
void check_resume(train::TrainerOptions (*settings)(train::TrainerOptions)) {
  test::TempDir dir;
  write_images(dir / "data");
  run_training<G, Recipe>(dir / "data", dir / "straight", 5, false, settings);
  run_training<G, Recipe>(dir / "data", dir / "resumed", 2, false, settings);
  run_training<G, Recipe>(dir / "data", dir / "resumed", 5, true, settings);
  CHECK(test::read_bytes(dir / "straight/g_ema.safetensors") == test::read_bytes(dir / "resumed/g_ema.safetensors"));
  CHECK(test::read_bytes(dir / "straight/checkpoint-5.safetensors") ==
        test::read_bytes(dir / "resumed/checkpoint-5.safetensors"));
  // Steps 0 and 4 were path-length steps: the running mean is in the checkpoint, and moved.
  const auto checkpoint = io::read_safetensors(dir / "straight/checkpoint-5.safetensors");
  const double pl_mean = checkpoint.tensors.at("pl.pl_mean").template to<double>().item();
  CHECK(std::isfinite(pl_mean));
  CHECK(pl_mean > 0);
  // G moved.
  G initial(3), trained(3);
  nn::StateDict<float> g_state;
  for (const auto& [key, raw] : checkpoint.tensors)
    if (key.rfind("g.", 0) == 0) g_state.emplace(key.substr(2), raw.template to<float>());
  trained.load_state_dict(g_state);
  double change = 0;
  for (const auto& [name, value] : initial.state_dict())
    for (std::int64_t i = 0; i < value.numel(); ++i)
      change = std::max(change, double(std::abs(value.data()[i] - trained.state_dict().at(name).data()[i])));
  CHECK(change > 1e-3);
}

}  // namespace

TEST_CASE("ALIS trains in the StyleGAN2-ADA loop, and a resumed run writes the same bytes") {
  check_resume<TinyAlis, train::AlisRecipe<TinyAlis>>(alis_settings);
}

TEST_CASE("CREPS trains in the StyleGAN2-ADA loop, and a resumed run writes the same bytes") {
  check_resume<TinyCreps, train::CrepsRecipe<TinyCreps>>(creps_settings);
}

TEST_CASE(
    "ALIS over two ranks at batch 8 trains the weights one process trains at batch 8 (its draws and seeded "
    "noise sharded), every rank holds the same weights and w_avg, and averaging the gradients after the "
    "backward pass instead of during it changes no bit") {
  test::TempDir dir;
  write_images(dir / "data");
  using Recipe = train::AlisRecipe<TinyAlis>;
  const auto single =
      run_training<TinyAlis, Recipe>(dir / "data", dir / "single", 5, false, alis_settings, nullptr, true, 8);
  std::vector<nn::StateDict<float>> states(2), after(2);
  dist::run_ranks(2, [&](dist::Communicator& comm) {
    const auto run = dir / ("run" + std::to_string(comm.rank()));
    states[comm.rank()] = run_training<TinyAlis, Recipe>(dir / "data", run, 5, false, alis_settings, &comm, true, 8);
    after[comm.rank()] =
        run_training<TinyAlis, Recipe>(dir / "data", run / "after", 5, false, alis_settings, &comm, false, 8);
  });
  // Float rounding; keyed by the local sample (every rank drawing samples 0, 1, ...'s noise), 1.2e-2.
  const double to_single = largest_difference(single, states[0]);
  MESSAGE("two ranks vs one process after 5 steps (float): largest difference " << to_single);
  CHECK(to_single < 1e-5);
  for (const auto& [name, value] : states[0]) {
    CAPTURE(name);
    CHECK(std::equal(value.data(), value.data() + value.numel(), after[0].at(name).data()));
  }
  REQUIRE(states[0].count("mapping.w_avg"));
  double change = 0;
  const auto initial = TinyAlis(3).state_dict();
  for (const auto& [name, value] : states[0]) {
    CAPTURE(name);
    const auto& other = states[1].at(name);
    CHECK(std::equal(value.data(), value.data() + value.numel(), other.data()));
    for (std::int64_t i = 0; i < value.numel(); ++i)
      change = std::max(change, double(std::abs(value.data()[i] - initial.at(name).data()[i])));
  }
  CHECK(change > 1e-3);
  const auto pl_mean =
      io::read_safetensors(dir / "run0/checkpoint-5.safetensors").tensors.at("pl.pl_mean").to<double>().item();
  CHECK(std::isfinite(pl_mean));
  CHECK(pl_mean > 0);
}

TEST_CASE("CREPS over two ranks at batch 8 trains the weights one process trains at batch 8 (its draws sharded)") {
  test::TempDir dir;
  write_images(dir / "data");
  using Recipe = train::CrepsRecipe<TinyCreps>;
  const auto single =
      run_training<TinyCreps, Recipe>(dir / "data", dir / "single", 5, false, creps_settings, nullptr, true, 8);
  std::vector<nn::StateDict<float>> states(2);
  dist::run_ranks(2, [&](dist::Communicator& comm) {
    states[comm.rank()] = run_training<TinyCreps, Recipe>(dir / "data", dir / ("run" + std::to_string(comm.rank())), 5,
                                                          false, creps_settings, &comm, true, 8);
  });
  const double to_single = largest_difference(single, states[0]);
  MESSAGE("two ranks vs one process after 5 steps (float): largest difference " << to_single);
  CHECK(to_single < 1e-5);
  CHECK(largest_difference(single, TinyCreps(3).state_dict()) > 1e-3);  // it trained
}
