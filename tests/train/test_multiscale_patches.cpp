#include <doctest/doctest.h>

#include <pixsyn/models/cips.hpp>
#include <pixsyn/models/cips/patches.hpp>
#include <pixsyn/nn/rosinality_discriminator.hpp>
#include <pixsyn/train/multiscale_patches.hpp>
#include <pixsyn/train/trainer.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "support/temp_files.hpp"

using namespace pixsyn;

TEST_CASE("multiscale patches: strided crops with their pixels' coordinates, every scale drawn") {
  constexpr std::int64_t size = 16, patch = 4;
  CHECK(train::patch_scales(size, patch) == 3);
  CHECK(train::patch_scales(8, 8) == 1);
  // Channel 0 holds the row, channel 1 the column of every pixel: a patch's values say where it came from.
  auto images = Tensor<double>::empty({3, 2, size, size});
  for (std::int64_t b = 0; b < 3; ++b)
    for (std::int64_t i = 0; i < size; ++i)
      for (std::int64_t j = 0; j < size; ++j) {
        images.data()[((b * 2 + 0) * size + i) * size + j] = double(i);
        images.data()[((b * 2 + 1) * size + i) * size + j] = double(j);
      }
  std::set<int> strides;
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    Philox gen{seed};
    const auto p = train::multiscale_patches(images, patch, gen);
    REQUIRE(p.images.shape() == Shape{3, 2, patch, patch});
    REQUIRE(p.xy.shape() == Shape{3, patch * patch, 2});
    strides.insert(p.stride);
    for (std::int64_t b = 0; b < 3; ++b) {
      const double r0 = p.images.data()[(b * 2 + 0) * patch * patch], c0 = p.images.data()[(b * 2 + 1) * patch * patch];
      for (std::int64_t a = 0; a < patch; ++a)
        for (std::int64_t j = 0; j < patch; ++j) {
          const double row = p.images.data()[((b * 2 + 0) * patch + a) * patch + j];
          const double col = p.images.data()[((b * 2 + 1) * patch + a) * patch + j];
          // Pixel (a, j) is image pixel (r0 + n a, c0 + n j), inside the image ...
          CHECK(row == r0 + double(p.stride * a));
          CHECK(col == c0 + double(p.stride * j));
          CHECK(row < size);
          CHECK(col < size);
          // ... and its coordinates are that pixel's on the official grid.
          const double* xy = p.xy.data() + ((b * patch + a) * patch + j) * 2;
          CHECK(xy[0] == doctest::Approx(-1 + 2 * col / (size - 1)).epsilon(1e-15));
          CHECK(xy[1] == doctest::Approx(-1 + 2 * row / (size - 1)).epsilon(1e-15));
        }
    }
  }
  CHECK(strides == std::set<int>{1, 2, 4});
  Philox gen{1};
  CHECK_THROWS_WITH_AS(train::multiscale_patches(images, 3, gen), doctest::Contains("power of two"), Error);
  CHECK_THROWS_WITH_AS(train::multiscale_patches(images, 32, gen), doctest::Contains("patch size"), Error);
}

namespace {

constexpr cips::Config tiny_cips16{.size = 16, .hidden = 8, .style_dim = 8, .mapping_layers = 2, .channels = {8, 8, 8}};
using TinyCips = cips::Generator<tiny_cips16, float>;
using TinyD = nn::RosinalityDiscriminator<float>;

const auto generate_patches = [](const TinyCips& g, const Var<float>& z, std::uint64_t noise_seed,
                                 const Tensor<float>& xy) {
  return cips::synthesize_patches(g, g.map(z), Var<float>(xy),
                                  nn::NoiseSource<float>{.mode = nn::NoiseMode::seeded, .seed = noise_seed});
};

void train_patches(const std::filesystem::path& data_dir, const std::filesystem::path& run, std::int64_t steps,
                   bool resume) {
  TinyCips g(3), g_ema(3);
  TinyD d({.size = 8, .max_channels = 8}, 4);  // D sees the 8 x 8 patches of 16 x 16 images
  const auto data = train::Dataset::folder(data_dir, {.size = 16, .crop = train::Crop::random});
  train::Trainer<float, TinyCips, TinyD, decltype(generate_patches)> trainer(
      g, g_ema, d, data, generate_patches,
      {.batch = 2, .steps = steps, .seed = 5, .z_dim = 8, .patch = 8, .run_dir = run});
  if (resume) REQUIRE(trainer.resume());
  trainer.run();
}

}  // namespace

TEST_CASE("CIPS patch training: the trainer feeds D patches and G their coordinates, and resumes exactly") {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "data");
  for (int i = 0; i < 4; ++i)
    io::write_png(dir / "data" / ("image" + std::to_string(i) + ".png"),
                  Tensor<float>::rand({3, 16 + i, 18}, Philox{std::uint64_t(i)}));
  train_patches(dir / "data", dir / "straight", 3, false);
  train_patches(dir / "data", dir / "resumed", 1, false);
  train_patches(dir / "data", dir / "resumed", 3, true);
  CHECK(test::read_bytes(dir / "straight/g_ema.safetensors") == test::read_bytes(dir / "resumed/g_ema.safetensors"));
  std::ifstream log(dir / "straight/log.csv");
  std::string line;
  int rows = 0;
  for (std::getline(log, line); std::getline(log, line); ++rows)
    CHECK(std::isfinite(std::stod(line.substr(line.find(',') + 1))));
  CHECK(rows == 3);
  // A full-size generate cannot train on patches.
  const auto full = [](const TinyCips& g, const Var<float>& z, std::uint64_t) {
    return g.synthesize_training(g.map(z));
  };
  TinyCips g, g_ema;
  TinyD d({.size = 8, .max_channels = 8});
  const auto data = train::Dataset::folder(dir / "data", {.size = 16});
  using FullTrainer = train::Trainer<float, TinyCips, TinyD, decltype(full)>;
  CHECK_THROWS_WITH_AS(
      FullTrainer(g, g_ema, d, data, full, {.batch = 2, .steps = 1, .z_dim = 8, .patch = 8, .run_dir = dir / "bad"}),
      doctest::Contains("generate(g, z, noise seed, xy)"), Error);
}
