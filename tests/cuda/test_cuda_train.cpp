// Training on the GPU: both discriminators as Modules on Cuda (loaded from CPU state dicts: logits, R1 and
// R1's weight gradients against the CPU's); train::Trainer with a tiny CIPS and rosinality's D on Cuda against
// the same run on the CPU (double: every weight of G, G_ema and D after two steps, the first with lazy R1), a
// CPU checkpoint resumed on the GPU, and a float run that moves G with finite losses. With two GPUs: two
// ranks over NCCL train what one GPU trains at the same batch (the test launches itself as the two ranks), in
// rosinality's loop (CIPS) and in the StyleGAN2-ADA loop (ALIS, CREPS: draws sharded, ALIS's noise keyed by the
// sample's index in the whole batch).
#include <doctest/doctest.h>

#include <cuda_runtime.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/dist/launch.hpp"
#include "pixsyn/dist/nccl.hpp"
#include "pixsyn/dist/rendezvous.hpp"
#include "pixsyn/io/image.hpp"
#include "pixsyn/io/safetensors.hpp"
#include "pixsyn/models/alis.hpp"
#include "pixsyn/models/cips.hpp"
#include "pixsyn/models/creps.hpp"
#include "pixsyn/nn/rosinality_discriminator.hpp"
#include "pixsyn/nn/stylegan2_discriminator.hpp"
#include "pixsyn/train/alis_recipe.hpp"
#include "pixsyn/train/creps_recipe.hpp"
#include "pixsyn/train/trainer.hpp"
#include "support/cuda.hpp"
#include "support/temp_files.hpp"
#include "train/tiny_ada_models.hpp"

namespace {

using namespace pixsyn;

constexpr cips::Config tiny{.size = 8, .hidden = 8, .style_dim = 8, .mapping_layers = 2, .channels = {8, 8}};
const nn::RosinalityDiscriminatorConfig tiny_d{.size = 8, .max_channels = 8};

void write_images(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  for (int i = 0; i < 6; ++i)
    io::write_png(dir / ("image" + std::to_string(i) + ".png"),
                  Tensor<float>::rand({3, 8 + i, 10}, Philox{std::uint64_t(i)}));
}

// Trains a tiny CIPS of type T on device D (weights from the CPU's seeds 3 and 4) in `run` up to `steps`, at
// `batch` images per step, as a rank of `comm` when given (gradients averaged in buckets of 4 KiB, during
// the backward pass or, without `overlap`, after it).
template <class T, class D>
void run_training(const std::filesystem::path& data_dir, const std::filesystem::path& run, std::int64_t steps,
                  bool resume, std::int64_t batch = 2, dist::Communicator* comm = nullptr, bool overlap = true) {
  using G = cips::Generator<tiny, T, D>;
  using Disc = nn::RosinalityDiscriminator<T, D>;
  G g, g_ema;
  Disc d(tiny_d);
  g.load_state_dict(nn::state_dict_on<D>(cips::Generator<tiny, T>(3).state_dict()));
  g_ema.load_state_dict(nn::state_dict_on<D>(cips::Generator<tiny, T>(3).state_dict()));
  d.load_state_dict(nn::state_dict_on<D>(nn::RosinalityDiscriminator<T>(tiny_d, 4).state_dict()));
  const auto generate = [](const G& gen, const Var<T, D>& z, std::uint64_t noise_seed) {
    return gen.synthesize_training(gen.map(z),
                                   nn::NoiseSource<T, D>{.mode = nn::NoiseMode::seeded, .seed = noise_seed});
  };
  const auto data = train::Dataset::folder(data_dir, {.size = 8, .crop = train::Crop::random});
  train::Trainer<T, G, Disc, decltype(generate)> trainer(g, g_ema, d, data, generate,
                                                         {.batch = batch,
                                                          .steps = steps,
                                                          .seed = 9,
                                                          .z_dim = 8,
                                                          .run_dir = run,
                                                          .communicator = comm,
                                                          .buckets = {.bucket_bytes = 4096},
                                                          .overlap_gradients = overlap});
  if (resume) REQUIRE(trainer.resume());
  trainer.run();
}

std::map<std::string, Tensor<double>> read_checkpoint(const std::filesystem::path& path) {
  std::map<std::string, Tensor<double>> out;
  for (const auto& [key, raw] : io::read_safetensors(path).tensors) out.emplace(key, raw.to<double>());
  return out;
}

// The initial weights of run_training as checkpoint keys ("g.", "g_ema.", "d.").
std::map<std::string, Tensor<double>> initial_weights() {
  std::map<std::string, Tensor<double>> out;
  for (const auto& [key, value] : cips::Generator<tiny, double>(3).state_dict()) {
    out.emplace("g." + key, value);
    out.emplace("g_ema." + key, value);
  }
  for (const auto& [key, value] : nn::RosinalityDiscriminator<double>(tiny_d, 4).state_dict())
    out.emplace("d." + key, value);
  return out;
}

// Largest |a - b| per tensor relative to that tensor's largest |a|, over the weights of G, G_ema and D.
double max_relative_difference(const std::map<std::string, Tensor<double>>& a,
                               const std::map<std::string, Tensor<double>>& b) {
  double worst = 0;
  int compared = 0;
  for (const auto& [key, x] : a) {
    if (key.rfind("g.", 0) != 0 && key.rfind("g_ema.", 0) != 0 && key.rfind("d.", 0) != 0) continue;
    REQUIRE(b.count(key));
    ++compared;
    const auto& y = b.at(key);
    REQUIRE(x.shape() == y.shape());
    double err = 0, scale = 1e-300;
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      err = std::max(err, std::abs(x.data()[i] - y.data()[i]));
      scale = std::max(scale, std::abs(x.data()[i]));
    }
    INFO(key);
    CHECK(std::isfinite(err));
    worst = std::max(worst, err / scale);
  }
  CHECK(compared > 20);
  return worst;
}

// Largest |gpu - cpu| relative to the largest |cpu|.
double relative_error(const Tensor<double, Cuda>& gpu, const Tensor<double>& cpu) {
  const auto g = to_host(gpu);
  REQUIRE(g.shape() == cpu.shape());
  double err = 0, scale = 1e-300;
  for (std::int64_t i = 0; i < cpu.numel(); ++i) {
    err = std::max(err, std::abs(g.data()[i] - cpu.data()[i]));
    scale = std::max(scale, std::abs(cpu.data()[i]));
  }
  return std::isnan(err) ? INFINITY : err / scale;
}

// The discriminator of type DiscCpu on the CPU and its copy DiscGpu on the GPU: logits, the R1 penalty and
// the gradient of the penalty with respect to every weight (double backward).
template <class DiscCpu, class DiscGpu, class Config>
void compare_discriminator(const Config& config) {
  const DiscCpu cpu(config, 5);
  DiscGpu gpu(config);
  gpu.load_state_dict(nn::state_dict_on<Cuda>(cpu.state_dict()));
  const auto reals = Tensor<double>::randn({4, 3, config.size, config.size}, Philox{6});
  const auto r1_cpu = train::r1_penalty(cpu, reals);
  const auto r1_gpu = train::r1_penalty(gpu, to_device(reals));
  CHECK(relative_error(r1_gpu.logits.value(), r1_cpu.logits.value()) < 1e-12);
  CHECK(relative_error(r1_gpu.penalty.value(), r1_cpu.penalty.value()) < 1e-12);
  autograd::backward(r1_cpu.penalty);
  autograd::backward(r1_gpu.penalty);
  const auto gpu_params = gpu.named_parameters(), cpu_params = cpu.named_parameters();
  int reached = 0;
  for (std::size_t k = 0; k < gpu_params.size(); ++k) {
    const auto& [name, p] = cpu_params[k];
    INFO(name);
    REQUIRE(gpu_params[k].second->grad().defined() == p->grad().defined());
    if (!p->grad().defined()) continue;
    ++reached;
    CHECK(relative_error(gpu_params[k].second->grad().value(), p->grad().value()) < 1e-11);
  }
  CHECK(reached > 4);
}

// G's phase of a float training step (train::gan_step: G's non-saturating loss through D) with run_training's
// models and initial weights, batch 4: the loss, the mean |logit|, and the gradient of every weight of G in
// parameter order.
struct GeneratorStep {
  double loss = 0, mean_abs_logit = 0;
  std::vector<double> grads;
};
GeneratorStep float_generator_step() {
  using G = cips::Generator<tiny, float, Cuda>;
  G g;
  nn::RosinalityDiscriminator<float, Cuda> d(tiny_d);
  g.load_state_dict(nn::state_dict_on<Cuda>(cips::Generator<tiny, float>(3).state_dict()));
  d.load_state_dict(nn::state_dict_on<Cuda>(nn::RosinalityDiscriminator<float>(tiny_d, 4).state_dict()));
  const Var<float, Cuda> z(Tensor<float, Cuda>::randn({4, 8}, Philox{5}));
  const auto fakes =
      g.synthesize_training(g.map(z), nn::NoiseSource<float, Cuda>{.mode = nn::NoiseMode::seeded, .seed = 6});
  const auto logits = d(fakes);
  const auto loss = train::generator_loss(logits);
  autograd::backward(loss);
  GeneratorStep step;
  step.loss = to_host(loss.value()).data()[0];
  const auto x = to_host(logits.value());
  for (std::int64_t i = 0; i < x.numel(); ++i) step.mean_abs_logit += std::abs(x.data()[i]) / double(x.numel());
  for (const auto& [name, p] : g.named_parameters()) {
    if (!p->grad().defined()) continue;  // the same parameters in both modes
    const auto host = to_host(p->grad().value());
    step.grads.insert(step.grads.end(), host.data(), host.data() + host.numel());
  }
  return step;
}

}  // namespace

TEST_CASE("both discriminators run on the GPU: logits, R1 and R1's weight gradients equal the CPU's") {
  test::Poisoned poisoned;
  compare_discriminator<nn::RosinalityDiscriminator<double>, nn::RosinalityDiscriminator<double, Cuda>>(
      nn::RosinalityDiscriminatorConfig{.size = 16, .max_channels = 16});
  compare_discriminator<nn::StyleGan2Discriminator<double>, nn::StyleGan2Discriminator<double, Cuda>>(
      nn::StyleGan2DiscriminatorConfig{.size = 16, .channel_base = 128, .channel_max = 16, .conv_clamp = 256});
}

TEST_CASE("two training steps (D, lazy R1, G, EMA) on the GPU equal the CPU's in double") {
  test::TempDir dir;
  write_images(dir / "data");
  run_training<double, Cpu>(dir / "data", dir / "cpu", 2, false);
  {
    test::Poisoned poisoned;
    run_training<double, Cuda>(dir / "data", dir / "gpu", 2, false);
  }
  const auto cpu = read_checkpoint(dir / "cpu/checkpoint-2.safetensors");
  const auto gpu = read_checkpoint(dir / "gpu/checkpoint-2.safetensors");
  CHECK(max_relative_difference(initial_weights(), cpu) > 1e-4);  // the steps moved the weights
  CHECK(max_relative_difference(cpu, gpu) < 1e-9);

  // A CPU run's checkpoint continues on the GPU as the CPU would have continued it.
  run_training<double, Cpu>(dir / "data", dir / "mixed", 1, false);
  run_training<double, Cuda>(dir / "data", dir / "mixed", 2, true);
  CHECK(max_relative_difference(cpu, read_checkpoint(dir / "mixed/checkpoint-2.safetensors")) < 1e-9);
}

TEST_CASE("a float run on the GPU keeps its losses finite and moves G") {
  test::TempDir dir;
  write_images(dir / "data");
  run_training<float, Cuda>(dir / "data", dir / "run", 4, false);
  std::ifstream log(dir / "run/log.csv");
  std::string line;
  std::getline(log, line);
  int rows = 0;
  for (; std::getline(log, line); ++rows) {
    const auto first = line.find(','), second = line.find(',', first + 1), third = line.find(',', second + 1);
    CHECK(std::isfinite(std::stod(line.substr(first + 1, second - first - 1))));   // loss_g
    CHECK(std::isfinite(std::stod(line.substr(second + 1, third - second - 1))));  // loss_d
  }
  CHECK(rows == 4);
  const auto trained = read_checkpoint(dir / "run/checkpoint-4.safetensors");
  double change = 0;
  const auto initial = cips::Generator<tiny, float>(3).state_dict();
  for (const auto& [name, value] : initial)
    for (std::int64_t i = 0; i < value.numel(); ++i)
      change = std::max(change, std::abs(double(value.data()[i]) - trained.at("g." + name).data()[i]));
  CHECK(change > 1e-3);
}

// TF32 math (Context::allow_tf32, `pixsyn train --precision tf32`) reads both operands of every GEMM with 10
// explicit mantissa bits, truncated or rounded: each product a·b is off by less than γ = 2·2^-10 + 2^-20 ≈ 1.95e-3
// of |a·b| (the fp32 sums of these small GEMMs, k ≤ 256, add < 2e-5). To first order such relative errors add
// along a chain of GEMMs. Here the logits sit 15 GEMMs deep (mapping 2, a style affine, G's 6 modulated layers
// conv1, linears 0-3, to_rgb_last, D's 6: convs.0, the ResBlock's 2, final_conv, final_linear 0-1), and the
// longest path to a weight gradient, the first mapping layer's, adds 15 backward GEMMs (D's 6 and G's 6 input
// gradients, the affine, mapping 1, the weight gradient): 30 γ ≈ 5.9e-2 bounds the gradients' relative L2
// difference (on the H200: 1.06e-2, about truncation's mean error of 2^-10 per product over 11 GEMMs). The loss
// softplus(-x) moves by at most |Δx| per logit: ≤ 15 γ mean|x|. A broken GEMM is off by O(1).
TEST_CASE("TF32 math is off by default, and a float G step with it stays within TF32's error bound of fp32") {
  CHECK_FALSE(backend::cuda::Context::instance().allow_tf32());
  const auto strict = float_generator_step();
  GeneratorStep tf32;
  {
    const test::Tf32Math on;
    tf32 = float_generator_step();
  }
  CHECK_FALSE(backend::cuda::Context::instance().allow_tf32());
  REQUIRE(tf32.grads.size() == strict.grads.size());
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < strict.grads.size(); ++i) {
    diff += (tf32.grads[i] - strict.grads[i]) * (tf32.grads[i] - strict.grads[i]);
    norm += strict.grads[i] * strict.grads[i];
  }
  const double gamma = 2 * std::ldexp(1.0, -10) + std::ldexp(1.0, -20);
  INFO("loss fp32 " << strict.loss << ", tf32 " << tf32.loss << " (mean |logit| " << strict.mean_abs_logit
                    << "); gradient relative L2 difference " << std::sqrt(diff / norm));
  CHECK(std::isfinite(tf32.loss));
  CHECK(std::abs(tf32.loss - strict.loss) <= 15 * gamma * strict.mean_abs_logit);
  CHECK(norm > 0);
  CHECK(std::sqrt(diff / norm) <= 30 * gamma);
}

namespace {

// In the launching process (no WORLD_SIZE): skips without two GPUs, else starts this binary again as two ranks
// (one GPU each) that run only the test cases `filter` selects (no comma in it: doctest splits filters there),
// sharing a temporary folder (PIXSYN_TEST_DIST_DIR), and checks that both exit 0 and reached the end of their
// body (mark_rank_done): a filter that selects nothing would otherwise pass.
void run_as_two_ranks(const std::string& filter) {
  int gpus = 0;
  if (cudaGetDeviceCount(&gpus) != cudaSuccess || gpus < 2) {
    MESSAGE("skipped: needs two GPUs");
    return;
  }
  test::TempDir dir;
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  REQUIRE(n > 0);
  ::setenv("PIXSYN_TEST_DIST_DIR", dir.path().c_str(), 1);
  const int status = dist::launch({std::string(exe, static_cast<std::size_t>(n)), "--test-case=" + filter},
                                  {.processes = 2, .master_port = dist::free_port()}, std::cerr);
  ::unsetenv("PIXSYN_TEST_DIST_DIR");
  CHECK(status == 0);
  CHECK(std::filesystem::exists(dir.path() / "done-0"));
  CHECK(std::filesystem::exists(dir.path() / "done-1"));
}

// In a rank: the end of its test body, for run_as_two_ranks.
void mark_rank_done(const std::filesystem::path& dir, int rank) {
  std::ofstream(dir / ("done-" + std::to_string(rank))) << "done\n";
}

}  // namespace

// Launched without WORLD_SIZE, the test starts this binary again as two ranks (one GPU each) that run only
// this test case, and passes when both pass. In the ranks: rank 0 trains the one-GPU reference at batch 8,
// both ranks train at batch 8 split over them (4 steps, R1 in the first), with the gradients averaged during
// the backward pass and after it, and rank 0 compares the weights: the one-GPU run's to rounding, each
// other's exactly (a sum of two is the same in any bucket).
TEST_CASE("data-parallel over NCCL: two GPUs at batch 8 train the weights one GPU trains at batch 8") {
  if (std::getenv("WORLD_SIZE") == nullptr) {
    run_as_two_ranks("data-parallel over NCCL: two*");
    return;
  }
  const std::filesystem::path dir = std::getenv("PIXSYN_TEST_DIST_DIR");
  const auto comm = dist::nccl_communicator(*dist::environment(), {.timeout = std::chrono::seconds(120)});
  const int rank = comm->rank();
  if (rank == 0) {
    write_images(dir / "data");
    run_training<double, Cuda>(dir / "data", dir / "single", 4, false, 8);
  }
  comm->barrier();
  run_training<double, Cuda>(dir / "data", dir / ("rank" + std::to_string(rank)), 4, false, 8, comm.get());
  run_training<double, Cuda>(dir / "data", dir / ("after" + std::to_string(rank)), 4, false, 8, comm.get(), false);
  comm->barrier();
  if (rank == 0) {
    const auto single = read_checkpoint(dir / "single/checkpoint-4.safetensors");
    const auto split = read_checkpoint(dir / "rank0/checkpoint-4.safetensors");
    CHECK(max_relative_difference(initial_weights(), single) > 1e-4);
    const double difference = max_relative_difference(single, split);
    std::cerr << "two ranks vs one GPU after 4 steps (double): largest relative difference " << difference << "\n";
    CHECK(difference < 1e-10);
    const double overlap_difference =
        max_relative_difference(split, read_checkpoint(dir / "after0/checkpoint-4.safetensors"));
    std::cerr << "gradients averaged during vs after the backward pass: largest relative difference "
              << overlap_difference << "\n";
    CHECK(overlap_difference == 0);
  }
  mark_rank_done(dir, rank);
}

namespace {

// Trains the tiny G of the StyleGAN2-ADA tests (tests/train/tiny_ada_models.hpp; seed 3, D seed 4, built on the
// CPU and copied across) in float on the GPU in `run` for 5 steps at batch 8 (path-length steps 0 and 4, R1
// step 0), as a rank of `comm` when given; returns G's state on the host.
template <class CpuG, class G, class Recipe>
nn::StateDict<float> run_ada_training(const std::filesystem::path& data_dir, const std::filesystem::path& run,
                                      train::TrainerOptions (*settings)(train::TrainerOptions),
                                      dist::Communicator* comm) {
  using Disc = nn::StyleGan2Discriminator<float, Cuda>;
  G g, g_ema;
  Disc d(test::tiny_ada_d);
  g.load_state_dict(nn::state_dict_on<Cuda>(CpuG(3).state_dict()));
  g_ema.load_state_dict(nn::state_dict_on<Cuda>(CpuG(3).state_dict()));
  if constexpr (requires { Recipe::set_shift_strength(g, 0.0); }) {
    Recipe::set_shift_strength(g, 0);
    Recipe::set_shift_strength(g_ema, 0);
  }
  d.load_state_dict(nn::state_dict_on<Cuda>(nn::StyleGan2Discriminator<float>(test::tiny_ada_d, 4).state_dict()));
  const auto data = train::Dataset::folder(data_dir, {.size = 8, .crop = train::Crop::random});
  train::Trainer<float, G, Disc, Recipe> trainer(g, g_ema, d, data, Recipe{},
                                                 settings({.batch = 8,
                                                           .steps = 5,
                                                           .seed = 9,
                                                           .z_dim = 8,
                                                           .run_dir = run,
                                                           .communicator = comm,
                                                           .buckets = {.bucket_bytes = 4096}}));
  trainer.run();
  nn::StateDict<float> out;
  for (const auto& [name, value] : g.state_dict()) out.emplace(name, to_host(value));
  return out;
}

double largest_difference(const nn::StateDict<float>& a, const nn::StateDict<float>& b) {
  double out = 0;
  for (const auto& [name, value] : a) {
    REQUIRE(b.count(name));
    for (std::int64_t i = 0; i < value.numel(); ++i)
      out = std::max(out, double(std::abs(value.data()[i] - b.at(name).data()[i])));
  }
  return out;
}

train::TrainerOptions alis_settings(train::TrainerOptions o) { return train::alis_trainer_options(o); }
train::TrainerOptions creps_settings(train::TrainerOptions o) { return train::creps_trainer_options(o, 8); }

}  // namespace

// As the CIPS case above, for the StyleGAN2-ADA loop (float, 5 steps, the gradients averaged during the backward
// pass): ALIS and CREPS on two ranks at batch 8 against one GPU at batch 8 (rank 0 trains the reference first);
// the CPU tests (tests/train/test_ada_trainer.cpp, in-process ranks) bound the same difference by 1e-5.
TEST_CASE(
    "data-parallel over NCCL in the StyleGAN2-ADA loop: ALIS and CREPS on two GPUs at batch 8 train what one GPU "
    "trains at batch 8") {
  if (std::getenv("WORLD_SIZE") == nullptr) {
    run_as_two_ranks("data-parallel over NCCL in the StyleGAN2-ADA*");
    return;
  }
  const std::filesystem::path dir = std::getenv("PIXSYN_TEST_DIST_DIR");
  const auto comm = dist::nccl_communicator(*dist::environment(), {.timeout = std::chrono::seconds(120)});
  const int rank = comm->rank();
  using CpuAlis = alis::Generator<test::tiny_alis, float>;
  using Alis = alis::Generator<test::tiny_alis, float, Cuda>;
  using CpuCreps = creps::Generator<test::tiny_creps, float>;
  using Creps = creps::Generator<test::tiny_creps, float, Cuda>;
  nn::StateDict<float> alis_single, creps_single;
  if (rank == 0) {
    write_images(dir / "data");
    alis_single = run_ada_training<CpuAlis, Alis, train::AlisRecipe<Alis>>(dir / "data", dir / "alis-single",
                                                                           alis_settings, nullptr);
    creps_single = run_ada_training<CpuCreps, Creps, train::CrepsRecipe<Creps>>(dir / "data", dir / "creps-single",
                                                                                creps_settings, nullptr);
  }
  comm->barrier();
  const auto suffix = std::to_string(rank);
  const auto alis_split = run_ada_training<CpuAlis, Alis, train::AlisRecipe<Alis>>(
      dir / "data", dir / ("alis-rank" + suffix), alis_settings, comm.get());
  const auto creps_split = run_ada_training<CpuCreps, Creps, train::CrepsRecipe<Creps>>(
      dir / "data", dir / ("creps-rank" + suffix), creps_settings, comm.get());
  if (rank == 0) {
    CHECK(largest_difference(alis_single, CpuAlis(3).state_dict()) > 1e-3);  // it trained
    CHECK(largest_difference(creps_single, CpuCreps(3).state_dict()) > 1e-3);
    const double alis_difference = largest_difference(alis_single, alis_split);
    const double creps_difference = largest_difference(creps_single, creps_split);
    std::cerr << "two ranks vs one GPU after 5 steps (float): largest difference ALIS " << alis_difference << ", CREPS "
              << creps_difference << "\n";
    CHECK(alis_difference < 1e-5);
    CHECK(creps_difference < 1e-5);
  }
  mark_rank_done(dir, rank);
}
