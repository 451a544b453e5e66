#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <pixsyn/metrics/area_downsample.hpp>
#include <pixsyn/metrics/psnr.hpp>
#include <pixsyn/metrics/scale_consistency.hpp>
#include <pixsyn/metrics/ssim.hpp>
#include "support/errors.hpp"
#include "support/fixture_file.hpp"

using namespace pixsyn;
using pixsyn::test::contains;
using pixsyn::test::error_of;

namespace {

// Image pairs and downsamplings computed by tools/reference/make_metrics_fixtures.py (PyTorch, float64,
// a full 2-D window and F.conv2d: an implementation independent of the separable one here).
const test::FixtureFile& fixture() { return test::fixture_file("metrics/metrics.safetensors"); }

double scalar(const std::string& key) { return fixture().scalar(key); }

}  // namespace

TEST_CASE("PSNR and SSIM equal an independent PyTorch computation") {
  for (int k = 0; k < 4; ++k) {
    CAPTURE(k);
    const std::string p = "pair" + std::to_string(k) + ".";
    const auto& a = fixture().at(p + "a");
    const auto& b = fixture().at(p + "b");
    const double range = scalar(p + "data_range");
    CHECK(metrics::psnr(a, b, range) == doctest::Approx(scalar(p + "psnr")).epsilon(1e-12));
    CHECK(metrics::ssim(a, b, {.data_range = range}) == doctest::Approx(scalar(p + "ssim")).epsilon(1e-10));
    // Float images give the same values: the sums are in double either way.
    const auto af = Tensor<float>::from(std::vector<float>(a.data(), a.data() + a.numel()), a.shape());
    const auto bf = Tensor<float>::from(std::vector<float>(b.data(), b.data() + b.numel()), b.shape());
    CHECK(metrics::ssim(af, bf, {.data_range = range}) == doctest::Approx(scalar(p + "ssim")).epsilon(1e-10));
  }
}

TEST_CASE("PSNR by hand: a constant error of 0.1 on a range of 2 is 10 log10(400) dB; identical images are +inf") {
  const auto a = Tensor<double>::full({3, 4, 5}, 0.25);
  const auto b = Tensor<double>::full({3, 4, 5}, 0.35);
  CHECK(metrics::psnr(a, b, 2.0) == doctest::Approx(10 * std::log10(400.0)).epsilon(1e-12));
  CHECK(metrics::psnr(a, a, 2.0) == std::numeric_limits<double>::infinity());
}

TEST_CASE("SSIM by hand: constant images give (2 a b + C1) / (a^2 + b^2 + C1); identical images give 1") {
  const double a = 0.3, b = -0.2, range = 2.0, c1 = (0.01 * range) * (0.01 * range);
  const auto x = Tensor<double>::full({2, 12, 13}, a);
  const auto y = Tensor<double>::full({2, 12, 13}, b);
  CHECK(metrics::ssim(x, y, {.data_range = range}) == doctest::Approx((2 * a * b + c1) / (a * a + b * b + c1)));
  const auto& image = fixture().at("pair0.a");
  CHECK(metrics::ssim(image, image) == doctest::Approx(1.0).epsilon(1e-12));
  // Symmetric in its arguments.
  const auto& other = fixture().at("pair0.b");
  CHECK(metrics::ssim(image, other) == doctest::Approx(metrics::ssim(other, image)).epsilon(1e-12));
}

TEST_CASE("PSNR and SSIM refuse mismatched, too small and non-finite images, naming the problem") {
  const auto a = Tensor<float>::zeros({3, 16, 16});
  CHECK(contains(error_of([&] { metrics::psnr(a, Tensor<float>::zeros({3, 16, 15}), 2.0); }), "different shapes"));
  CHECK(contains(error_of([&] { metrics::psnr(a, a, 0.0); }), "data_range must be positive"));
  CHECK(contains(error_of([&] {
                   metrics::ssim(Tensor<float>::zeros({3, 10, 16}), Tensor<float>::zeros({3, 10, 16}));
                 }),
                 "needs at least the 11x11 window"));
  CHECK(contains(error_of([&] { metrics::ssim(a, a, {.window = 10}); }), "window must be odd"));
  auto nan = Tensor<float>::zeros({3, 16, 16});
  nan.data()[7] = std::numeric_limits<float>::quiet_NaN();
  CHECK(contains(error_of([&] { metrics::ssim(a, nan); }), "image b holds a non-finite value"));
  CHECK(contains(error_of([&] { metrics::ssim(Tensor<float>::zeros({16}), Tensor<float>::zeros({16})); }),
                 "expected an image (H, W) or (C, H, W)"));
}

TEST_CASE("area_downsample averages factor x factor blocks, as avg_pool2d") {
  const auto& images = fixture().at("area.images");
  for (const std::int64_t factor : {2, 4}) {
    const auto& expected = fixture().at("area.factor" + std::to_string(factor));
    const auto out = metrics::area_downsample(images, factor);
    REQUIRE(out.shape() == expected.shape());
    for (std::int64_t i = 0; i < out.numel(); ++i) CHECK(out.data()[i] == doctest::Approx(expected.data()[i]));
  }
  CHECK(contains(error_of([&] { metrics::area_downsample(images, 3); }),
                 "8x12 is not a positive multiple of the factor 3"));
  CHECK(contains(error_of([&] { metrics::area_downsample(images, 0); }), "factor must be positive"));
}

namespace {

// A "generator" whose pixel (i, j) at size n is the value of a plane at the pixel centre ((i + 0.5) / n,
// (j + 0.5) / n): area-downsampling its 2n render gives its n render exactly, up to rounding.
Tensor<double> plane_render(std::int64_t first, std::int64_t count, std::int64_t size) {
  auto out = Tensor<double>::empty({count, 3, size, size});
  for (std::int64_t b = 0; b < count; ++b)
    for (std::int64_t c = 0; c < 3; ++c)
      for (std::int64_t i = 0; i < size; ++i)
        for (std::int64_t j = 0; j < size; ++j) {
          const double y = (i + 0.5) / size, x = (j + 0.5) / size;
          out.at({b, c, i, j}) = 0.1 * static_cast<double>(first + b) + 0.5 * x - 0.3 * y + 0.1 * c - 0.2;
        }
  return out;
}

}  // namespace

TEST_CASE("scale_consistency of a perfectly consistent renderer: infinite-like PSNR, SSIM 1") {
  std::vector<std::int64_t> sizes, progress;
  const auto result = metrics::scale_consistency(
      [&](std::int64_t first, std::int64_t count, std::int64_t size) {
        sizes.push_back(size);
        return plane_render(first, count, size);
      },
      5, 16, {.batch = 2, .progress = [&](std::int64_t done, std::int64_t) { progress.push_back(done); }});
  CHECK(result.samples == 5);
  CHECK(result.psnr > 250);  // only rounding differs
  CHECK(result.ssim == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(sizes == std::vector<std::int64_t>{16, 32, 16, 32, 16, 32});
  CHECK(progress == std::vector<std::int64_t>{2, 4, 5});
}

TEST_CASE(
    "scale_consistency is the mean over latents of PSNR and SSIM between the render and the downsampled 2x render") {
  // A renderer whose 2x render differs per latent: the result must equal the mean of the per-latent
  // values computed directly, whatever the batch.
  Philox gen{7};
  const auto small = Tensor<double>::rand({3, 3, 16, 16}, gen);
  const auto big = Tensor<double>::rand({3, 3, 32, 32}, gen);
  auto render = [&](std::int64_t first, std::int64_t count, std::int64_t size) {
    return (size == 16 ? small : big).narrow(first, count).clone();
  };
  const auto down = metrics::area_downsample(big, 2);
  double psnr = 0, ssim = 0;
  for (std::int64_t i = 0; i < 3; ++i) {
    const auto a = small.narrow(i, 1).reshape(Shape{3, 16, 16}), b = down.narrow(i, 1).reshape(Shape{3, 16, 16});
    psnr += metrics::psnr(a, b, 2.0) / 3;
    ssim += metrics::ssim(a, b) / 3;
  }
  for (const std::int64_t batch : {1, 2, 3}) {
    const auto result = metrics::scale_consistency(render, 3, 16, {.batch = batch});
    CHECK(result.psnr == doctest::Approx(psnr).epsilon(1e-12));
    CHECK(result.ssim == doctest::Approx(ssim).epsilon(1e-12));
  }
}

TEST_CASE("scale_consistency clamps both renders to the value range before comparing") {
  // Out-of-range values that clamp to the same image compare as identical.
  auto render = [](std::int64_t, std::int64_t count, std::int64_t size) {
    return Tensor<float>::full({count, 3, size, size}, size == 16 ? 5.0f : 1.5f);
  };
  const auto result = metrics::scale_consistency(render, 2, 16);
  CHECK(result.psnr == std::numeric_limits<double>::infinity());
  CHECK(result.ssim == doctest::Approx(1.0));
}

TEST_CASE("scale_consistency refuses bad arguments and bad renders, naming them") {
  auto good = [](std::int64_t first, std::int64_t count, std::int64_t size) {
    return plane_render(first, count, size);
  };
  CHECK(contains(error_of([&] { metrics::scale_consistency(good, 0, 16); }), "number of latents must be positive"));
  CHECK(
      contains(error_of([&] { metrics::scale_consistency(good, 1, 16, {.factor = 1}); }), "factor must be at least 2"));
  CHECK(contains(error_of([&] { metrics::scale_consistency(good, 1, 16, {.low = 1, .high = 1}); }), "value range"));
  auto wrong_shape = [](std::int64_t, std::int64_t count, std::int64_t size) {
    return Tensor<double>::zeros({count, 3, size, size + 1});
  };
  CHECK(contains(error_of([&] { metrics::scale_consistency(wrong_shape, 2, 16); }),
                 "the render of latents [0, 1) at 16x16 has shape (1, 3, 16, 17); expected (1, C, 16, 16)"));
  auto nan = [](std::int64_t, std::int64_t count, std::int64_t size) {
    auto out = Tensor<double>::zeros({count, 3, size, size});
    if (size == 32) out.data()[5] = std::numeric_limits<double>::quiet_NaN();
    return out;
  };
  CHECK(contains(error_of([&] { metrics::scale_consistency(nan, 1, 16); }),
                 "the render of latents [0, 1) at 32x32 holds a non-finite value at flat index 5"));
}
