#include <doctest/doctest.h>

#include <pixsyn/train/multiscale_patches.hpp>

#include <cmath>
#include <set>

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
