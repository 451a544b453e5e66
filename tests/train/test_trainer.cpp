#include <doctest/doctest.h>

#include <pixsyn/models/cips.hpp>
#include <pixsyn/nn/rosinality_discriminator.hpp>
#include <pixsyn/train/trainer.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/temp_files.hpp"

using namespace pixsyn;

namespace {

constexpr cips::Config tiny{.size = 8, .hidden = 8, .style_dim = 8, .mapping_layers = 2, .channels = {8, 8}};
template <class T>
using Generator = cips::Generator<tiny, T>;
using TinyG = Generator<float>;

// Six small images of different colours and sizes.
void write_images(const std::filesystem::path& dir) {
  for (int i = 0; i < 6; ++i) {
    auto image = Tensor<float>::rand({3, 8 + i, 10}, Philox{std::uint64_t(i)});
    io::write_png(dir / ("image" + std::to_string(i) + ".png"), image);
  }
}

template <class T>
const auto generate_cips = [](const Generator<T>& g, const Var<T>& z, std::uint64_t noise_seed) {
  nn::NoiseSource<T> noise;
  noise.mode = nn::NoiseMode::seeded;
  noise.seed = noise_seed;
  return g.synthesize_training(g.map(z), noise);
};

// Trains a fresh tiny CIPS over T (weights from seed 3) in `run` up to `steps`, resuming when asked.
// `sampled` (when given) collects the steps of the sample hook's calls, every `sample_every` steps.
template <class T = float>
void run_training(const std::filesystem::path& data_dir, const std::filesystem::path& run, std::int64_t steps,
                  bool resume, std::int64_t checkpoint_every = 0, std::vector<std::int64_t>* sampled = nullptr,
                  std::int64_t sample_every = 0) {
  using D = nn::RosinalityDiscriminator<T>;
  Generator<T> g(3), g_ema(3);
  D d({.size = 8, .max_channels = 8}, 4);
  const auto data = train::Dataset::folder(data_dir, {.size = 8, .crop = train::Crop::random});
  train::Trainer<T, Generator<T>, D, decltype(generate_cips<T>)> trainer(g, g_ema, d, data, generate_cips<T>,
                                                                         {.batch = 2,
                                                                          .steps = steps,
                                                                          .seed = 9,
                                                                          .z_dim = 8,
                                                                          .checkpoint_every = checkpoint_every,
                                                                          .run_dir = run,
                                                                          .metadata = {{"model", "tiny"}},
                                                                          .sample_every = sample_every,
                                                                          .sample = [sampled](std::int64_t step) {
                                                                            if (sampled) sampled->push_back(step);
                                                                          }});
  if (resume) REQUIRE(trainer.resume());
  trainer.run();
  CHECK(trainer.step() == steps);
}

std::vector<std::string> lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

TEST_CASE("the trainer logs finite losses, moves G, keeps the last two checkpoints and writes G_ema") {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "data");
  write_images(dir / "data");
  std::vector<std::int64_t> sampled;
  run_training(dir / "data", dir / "run", 4, false, 1, &sampled, 3);
  CHECK(sampled == std::vector<std::int64_t>{3, 4});  // every 3 steps, and at the end
  const auto log = lines(dir / "run/log.csv");
  REQUIRE(log.size() == 5);
  CHECK(log[0] == "step,loss_g,loss_d,r1,images_per_s");
  CHECK(log[1].rfind("1,", 0) == 0);
  CHECK(log[4].rfind("4,", 0) == 0);
  for (std::size_t i = 1; i < log.size(); ++i) {
    const double loss_g = std::stod(log[i].substr(log[i].find(',') + 1));
    CHECK(std::isfinite(loss_g));
  }
  CHECK(std::filesystem::exists(dir / "run/checkpoint-3.safetensors"));
  CHECK(std::filesystem::exists(dir / "run/checkpoint-4.safetensors"));
  CHECK_FALSE(std::filesystem::exists(dir / "run/checkpoint-2.safetensors"));

  // G moved by about Adam's lr per step; G_ema (half-life 10k images) by a small fraction of that.
  const auto largest_change = [](const nn::StateDict<float>& a, const nn::StateDict<float>& b) {
    double change = 0;
    for (const auto& [name, value] : a)
      for (std::int64_t i = 0; i < value.numel(); ++i)
        change = std::max(change, double(std::abs(value.data()[i] - b.at(name).data()[i])));
    return change;
  };
  TinyG initial(3), trained(3), trained_ema(3);
  nn::StateDict<float> g_state;
  for (const auto& [key, raw] : io::read_safetensors(dir / "run/checkpoint-4.safetensors").tensors)
    if (key.rfind("g.", 0) == 0) g_state.emplace(key.substr(2), raw.to<float>());
  trained.load_state_dict(g_state);
  nn::load_safetensors(trained_ema, dir / "run/g_ema.safetensors");
  CHECK(largest_change(initial.state_dict(), trained.state_dict()) > 1e-3);
  CHECK(largest_change(initial.state_dict(), trained_ema.state_dict()) > 0);
  CHECK(io::read_safetensors(dir / "run/g_ema.safetensors").metadata.at("model") == "tiny");
}

// Runs `steps` straight and again interrupted after `interrupted` steps: the same bytes. Returns the last
// checkpoint.
template <class T>
io::SafetensorsFile check_resume(std::int64_t interrupted, std::int64_t steps) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "data");
  write_images(dir / "data");
  run_training<T>(dir / "data", dir / "straight", steps, false);
  run_training<T>(dir / "data", dir / "resumed", interrupted, false);
  run_training<T>(dir / "data", dir / "resumed", steps, true);
  const std::string last = "checkpoint-" + std::to_string(steps) + ".safetensors";
  CHECK(test::read_bytes(dir / "straight/g_ema.safetensors") == test::read_bytes(dir / "resumed/g_ema.safetensors"));
  CHECK(test::read_bytes(dir / "straight" / last) == test::read_bytes(dir / "resumed" / last));
  CHECK(lines(dir / "resumed/log.csv").size() == std::size_t(steps + 1));  // the header and steps 1 .. steps
  return io::read_safetensors(dir / "straight" / last);
}

TEST_CASE("a run resumed from its checkpoint writes the same G_ema bytes as the uninterrupted run") {
  check_resume<float>(3, 6);
}

// A double run's checkpoint holds doubles (F64): stored as float, the resumed run drifted by ~1e-7 relative.
TEST_CASE("a double run resumed right after its R1 step writes the same bytes as the uninterrupted run") {
  for (const auto& [key, raw] : check_resume<double>(1, 2).tensors) {
    INFO(key);
    CHECK(raw.dtype == io::DType::F64);
  }
}
