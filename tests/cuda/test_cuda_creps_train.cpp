// CREPS training on the GPU: creps::Generator<C, double, Cuda> (the CPU's layers on the CUDA ops) against the
// CPU in double, with creps::Narrow<32, 16> as pixsyn train makes it: the training forward with style mixing,
// the path-length penalty and the gradient of every weight of G (the path length differentiates G twice), and
// two iterations of train::Trainer with train::CrepsRecipe and the StyleGAN2-ADA D (G, path length, D, R1,
// EMA; then G, D, EMA): every weight of G, G_ema and D and the tracked w_avg.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/io/image.hpp"
#include "pixsyn/models/creps.hpp"
#include "pixsyn/nn/serialize.hpp"
#include "pixsyn/nn/stylegan2_discriminator.hpp"
#include "pixsyn/train/creps_recipe.hpp"
#include "support/cuda.hpp"
#include "support/temp_files.hpp"
#include "train/step_fixture.hpp"

namespace {

using namespace pixsyn;

template <class D>
using Narrow = creps::Narrow<32, 16, double, D>;
constexpr creps::Config narrow = Narrow<Cpu>::config;

template <class D>
using Disc = nn::StyleGan2Discriminator<double, D>;

nn::StyleGan2DiscriminatorConfig disc_config() {
  auto config = nn::StyleGan2DiscriminatorConfig::creps(narrow.size);
  config.channel_max = 16;
  return config;
}

// Largest |a - want| relative to the largest |want| (infinite when anything is NaN).
double relative_difference(const Tensor<double>& a, const Tensor<double>& want) {
  REQUIRE(a.shape() == want.shape());
  double err = 0, scale = 1e-300;
  for (std::int64_t i = 0; i < want.numel(); ++i) {
    err = std::max(err, std::abs(a.data()[i] - want.data()[i]));
    scale = std::max(scale, std::abs(want.data()[i]));
  }
  return std::isnan(err) ? INFINITY : err / scale;
}

double relative_error(const Tensor<double, Cuda>& gpu, const Tensor<double>& cpu) {
  return relative_difference(to_host(gpu), cpu);
}

// Trains a fresh Narrow (seed 3) and D (seed 4) on device D for `steps` with the official CREPS settings;
// returns G, G_ema and D's state dicts on the host ("g.", "g_ema.", "d.").
template <class D>
nn::StateDict<double> run_training(const std::filesystem::path& data_dir, const std::filesystem::path& run,
                                   std::int64_t steps) {
  using G = Narrow<D>;
  G g, g_ema;
  Disc<D> d(disc_config());
  g.load_state_dict(nn::state_dict_on<D>(Narrow<Cpu>(3).state_dict()));
  g_ema.load_state_dict(nn::state_dict_on<D>(Narrow<Cpu>(3).state_dict()));
  d.load_state_dict(nn::state_dict_on<D>(Disc<Cpu>(disc_config(), 4).state_dict()));
  const auto data = train::Dataset::folder(data_dir, {.size = narrow.size, .crop = train::Crop::random});
  train::Trainer<double, G, Disc<D>, train::CrepsRecipe<G>> trainer(
      g, g_ema, d, data, {},
      train::creps_trainer_options({.batch = 4, .steps = steps, .seed = 9, .z_dim = narrow.z_dim, .run_dir = run},
                                   narrow.size));
  trainer.run();
  nn::StateDict<double> out;
  for (const auto& [prefix, state] : {std::pair<std::string, nn::StateDict<double, D>>{"g.", g.state_dict()},
                                      {"g_ema.", g_ema.state_dict()},
                                      {"d.", d.state_dict()}})
    for (const auto& [key, value] : nn::state_dict_on<Cpu>(state)) out.emplace(prefix + key, value);
  return out;
}

}  // namespace

TEST_CASE("the CREPS training forward, its path length and G's weight gradients on the GPU equal the CPU's") {
  test::Poisoned poisoned;
  const Narrow<Cpu> cpu(3);
  Narrow<Cuda> gpu;
  gpu.load_state_dict(nn::state_dict_on<Cuda>(cpu.state_dict()));
  Philox gen{5};
  const auto draw = creps::draw_training<narrow, double>(gen, 2, 1.0);  // always style-mixed
  REQUIRE(draw.cutoff < narrow.num_ws());
  const auto out_cpu = creps::synthesize_training(cpu, draw, 2);
  const auto out_gpu = creps::synthesize_training(gpu, draw, 2);
  CHECK(relative_error(out_gpu.images.value(), out_cpu.images.value()) < 1e-12);
  CHECK(relative_error(out_gpu.ws.value(), out_cpu.ws.value()) < 1e-12);

  const auto noise = test::randn<double>(out_cpu.images.shape(), 6);
  train::PathLength pl_cpu, pl_gpu;
  const auto term_cpu = pl_cpu.penalty(out_cpu.images, out_cpu.ws, noise);
  const auto term_gpu = pl_gpu.penalty(out_gpu.images, out_gpu.ws, to_device(noise));
  CHECK(relative_error(term_gpu.penalty.value(), term_cpu.penalty.value()) < 1e-12);
  CHECK(pl_gpu.running_mean() == doctest::Approx(pl_cpu.running_mean()).epsilon(1e-12));
  autograd::backward(pl_cpu.loss(term_cpu));
  autograd::backward(pl_gpu.loss(term_gpu));
  const auto cpu_params = cpu.named_parameters();
  const auto gpu_params = gpu.named_parameters();
  REQUIRE(cpu_params.size() == gpu_params.size());
  int reached = 0;
  for (std::size_t k = 0; k < cpu_params.size(); ++k) {
    const auto& [name, p] = cpu_params[k];
    INFO(name);
    REQUIRE(gpu_params[k].second->grad().defined() == p->grad().defined());
    if (!p->grad().defined()) continue;
    ++reached;
    CHECK(relative_error(gpu_params[k].second->grad().value(), p->grad().value()) < 1e-10);
  }
  CHECK(reached > 20);
}

TEST_CASE("two CREPS training iterations (G, path length, D, R1, EMA) on the GPU equal the CPU's in double") {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "data");
  for (int i = 0; i < 6; ++i)
    io::write_png(dir / "data" / ("image" + std::to_string(i) + ".png"),
                  Tensor<float>::rand({3, 30 + i, 34}, Philox{std::uint64_t(i)}));
  const auto cpu = run_training<Cpu>(dir / "data", dir / "cpu", 2);
  nn::StateDict<double> gpu;
  {
    test::Poisoned poisoned;
    gpu = run_training<Cuda>(dir / "data", dir / "gpu", 2);
  }
  double worst = 0;
  for (const auto& [key, value] : cpu) {
    INFO(key);
    REQUIRE(gpu.count(key));
    worst = std::max(worst, relative_difference(gpu.at(key), value));
  }
  CHECK(gpu.size() == cpu.size());
  nn::StateDict<double> trained_g;
  for (const auto& [key, value] : cpu)
    if (key.rfind("g.", 0) == 0) trained_g.emplace(key.substr(2), value);
  const double moved = test::max_relative_difference(Narrow<Cpu>(3), trained_g);
  MESSAGE("CREPS on the GPU after two iterations: largest relative difference ", worst, "; G moved by ", moved);
  CHECK(moved > 1e-4);
  CHECK(worst < 1e-9);
}
