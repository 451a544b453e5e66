#include <doctest/doctest.h>

#include <pixsyn/dist/in_process.hpp>
#include <pixsyn/models/cips.hpp>
#include <pixsyn/nn/rosinality_discriminator.hpp>
#include <pixsyn/train/trainer.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "support/temp_files.hpp"

// Data-parallel training over the in-process communicator (threads as ranks): W ranks at batch B must
// train what one process trains at batch B, in double to rounding.

using namespace pixsyn;

namespace {

constexpr cips::Config tiny{.size = 8, .hidden = 8, .style_dim = 8, .mapping_layers = 2, .channels = {8, 8}};
using TinyG = cips::Generator<tiny, double>;
using TinyD = nn::RosinalityDiscriminator<double>;

const auto generate_cips = [](const TinyG& g, const Var<double>& z, std::uint64_t noise_seed) {
  nn::NoiseSource<double> noise;
  noise.mode = nn::NoiseMode::seeded;
  noise.seed = noise_seed;
  return g.synthesize_training(g.map(z), noise);
};

struct Trained {
  nn::StateDict<double> g, g_ema, d;
  std::int64_t step = 0;
  std::int64_t overlapped = 0, after_backward = 0;  // optimizer steps by how their gradients were averaged
};

// A tiny CIPS (weights from seed 3, except on ranks > 0, which must take rank 0's) trained up to `steps`
// at a batch of 8 in `run`, as rank comm->rank() when a communicator is given. R1 every other step.
Trained train_tiny(const train::Dataset& data, const std::filesystem::path& run, std::int64_t steps,
                   dist::Communicator* comm, bool resume = false, bool overlap = true) {
  const std::uint64_t seed = comm != nullptr && comm->rank() > 0 ? 99 : 3;
  TinyG g(seed), g_ema(seed);
  TinyD d({.size = 8, .max_channels = 8}, seed + 1);
  train::Trainer<double, TinyG, TinyD, decltype(generate_cips)> trainer(
      g, g_ema, d, data, generate_cips,
      {.batch = 8,
       .steps = steps,
       .seed = 9,
       .z_dim = 8,
       .gan = {.r1_gamma = 10, .d_reg_interval = 2},
       .run_dir = run,
       .communicator = comm,
       .buckets = {.bucket_bytes = 4096},  // several buckets
       .overlap_gradients = overlap});
  if (resume) trainer.resume();
  trainer.run();
  const auto counts = trainer.overlap_counts();
  return {g.state_dict(), g_ema.state_dict(), d.state_dict(), trainer.step(), counts.overlapped, counts.after_backward};
}

double largest_difference(const nn::StateDict<double>& a, const nn::StateDict<double>& b) {
  double out = 0;
  REQUIRE(a.size() == b.size());
  for (const auto& [name, value] : a)
    for (std::int64_t i = 0; i < value.numel(); ++i)
      out = std::max(out, std::abs(value.data()[i] - b.at(name).data()[i]));
  return out;
}

bool same_bits(const nn::StateDict<double>& a, const nn::StateDict<double>& b) { return largest_difference(a, b) == 0; }

void write_images(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  for (int i = 0; i < 6; ++i)
    io::write_png(dir / ("image" + std::to_string(i) + ".png"), Tensor<float>::rand({3, 8 + i, 10}, Philox{i + 0ull}));
}

}  // namespace

TEST_CASE(
    "two ranks at batch 8 train the weights one process trains at batch 8, and resume from rank 0's "
    "checkpoint") {
  test::TempDir dir;
  write_images(dir / "data");
  const auto data = train::Dataset::folder(dir / "data", {.size = 8, .crop = train::Crop::random});
  const Trained single = train_tiny(data, dir / "single", 4, nullptr);

  std::vector<Trained> ranks(2), resumed(2);
  dist::run_ranks(2, [&](dist::Communicator& comm) {
    const auto run = dir / ("dp" + std::to_string(comm.rank()));
    ranks[comm.rank()] = train_tiny(data, run, 2, &comm);
    comm.barrier();
    resumed[comm.rank()] = train_tiny(data, run, 4, &comm, true);  // rank 1's folder holds no checkpoint
  });
  // Every rank holds the same bits (the averages are identical everywhere) ...
  CHECK(same_bits(ranks[0].g, ranks[1].g));
  CHECK(same_bits(resumed[0].g, resumed[1].g));
  CHECK(same_bits(resumed[0].g_ema, resumed[1].g_ema));
  CHECK(same_bits(resumed[0].d, resumed[1].d));
  CHECK(resumed[1].step == 4);
  CHECK_FALSE(std::filesystem::exists(dir / "dp1/checkpoint-2.safetensors"));  // rank 0 writes
  // ... and the weights of one process at the whole batch, to rounding (an unsharded rank, a wrong
  // gradient average or a lost R1 step would be off by about Adam's lr, 2e-3).
  const double g = largest_difference(resumed[0].g, single.g),
               g_ema = largest_difference(resumed[0].g_ema, single.g_ema),
               d = largest_difference(resumed[0].d, single.d);
  MESSAGE("largest difference to one process: G ", g, ", G_ema ", g_ema, ", D ", d);
  CHECK(g < 1e-10);
  CHECK(g_ema < 1e-10);
  CHECK(d < 1e-10);
  CHECK(largest_difference(single.g, TinyG(3).state_dict()) > 1e-3);  // it did train
}

TEST_CASE("data-parallel training refuses a batch that does not split over the ranks") {
  test::TempDir dir;
  write_images(dir / "data");
  const auto data = train::Dataset::folder(dir / "data", {.size = 8});
  CHECK_THROWS_WITH(dist::run_ranks(3, [&](dist::Communicator& comm) { train_tiny(data, dir / "run", 1, &comm); }),
                    doctest::Contains("the batch of 8 does not split evenly over 3 ranks"));
}

TEST_CASE("gradients averaged during the backward pass train the bits of the average after it, R1 steps included") {
  test::TempDir dir;
  write_images(dir / "data");
  const auto data = train::Dataset::folder(dir / "data", {.size = 8, .crop = train::Crop::random});
  std::vector<Trained> overlapped(2), after(2);
  dist::run_ranks(2, [&](dist::Communicator& comm) {
    const auto run = dir / ("rank" + std::to_string(comm.rank()));
    overlapped[comm.rank()] = train_tiny(data, run / "overlapped", 3, &comm);
    after[comm.rank()] = train_tiny(data, run / "after", 3, &comm, false, false);
  });
  CHECK(same_bits(overlapped[0].g, after[0].g));
  CHECK(same_bits(overlapped[0].d, after[0].d));
  CHECK(same_bits(overlapped[0].g_ema, after[0].g_ema));
  CHECK(same_bits(overlapped[1].d, after[0].d));
  // Every optimizer step averaged during its pass: 3 D steps, 2 R1 steps (steps 0 and 2), 3 G steps.
  CHECK(overlapped[0].overlapped == 8);
  CHECK(overlapped[0].after_backward == 0);
  CHECK(after[0].overlapped + after[0].after_backward == 0);
}
