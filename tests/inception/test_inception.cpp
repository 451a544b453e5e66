// The InceptionV3 feature network (metrics/inception.hpp) and its pooling and resize (metrics/pooling.hpp):
// the pools and the resize against direct loops written from their definitions, the network against
// the activations that the nsfwjs package's own runtime (@tensorflow/tfjs) computes
// (tools/reference/make_inception_fixture.sh).
//
// The network's weights are not in the repository: tools/data/inception.sh fetches them into
// $PIXSYN_INCEPTION_DIR (CMake passes PIXSYN_INCEPTION_DIR) or ~/.cache/pixsyn/inception. Without them
// the network's tests are skipped with a message, unless PIXSYN_REQUIRE_INCEPTION=1 (CI), where they fail.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <pixsyn/io/idx.hpp>
#include <pixsyn/io/safetensors.hpp>
#include <pixsyn/metrics/frechet.hpp>
#include <pixsyn/metrics/inception.hpp>
#include <pixsyn/metrics/pooling.hpp>
#include "support/errors.hpp"
#include "support/inception.hpp"
#include "support/temp_files.hpp"

using namespace pixsyn;
using pixsyn::test::contains;
using pixsyn::test::error_of;
using pixsyn::test::inception_weights_available;

namespace {

// Pools by their definition: every window, every tap, padding taps left out.
Tensor<double> pool_reference(const Tensor<double>& x, metrics::Pool2dOptions o) {
  const std::int64_t b = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), half = o.same ? o.kernel / 2 : 0;
  const std::int64_t ho = o.same ? h : (h - o.kernel) / o.stride + 1, wo = o.same ? w : (w - o.kernel) / o.stride + 1;
  auto y = Tensor<double>::empty({b, c, ho, wo});
  for (std::int64_t p = 0; p < b * c; ++p)
    for (std::int64_t i = 0; i < ho; ++i)
      for (std::int64_t j = 0; j < wo; ++j) {
        double acc = o.kind == metrics::PoolKind::max ? -INFINITY : 0;
        int count = 0;
        for (std::int64_t di = 0; di < o.kernel; ++di)
          for (std::int64_t dj = 0; dj < o.kernel; ++dj) {
            const std::int64_t si = i * o.stride + di - half, sj = j * o.stride + dj - half;
            if (si < 0 || si >= h || sj < 0 || sj >= w) continue;
            const double v = x.data()[(p * h + si) * w + sj];
            acc = o.kind == metrics::PoolKind::max ? std::max(acc, v) : acc + v;
            ++count;
          }
        y.data()[(p * ho + i) * wo + j] = o.kind == metrics::PoolKind::max ? acc : acc / count;
      }
  return y;
}

// TF's resize_bilinear with half_pixel_centers, written out (tfjs-backend-cpu's ResizeBilinear).
Tensor<double> resize_reference(const Tensor<double>& x, std::int64_t ho, std::int64_t wo) {
  const std::int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3);
  auto y = Tensor<double>::empty({x.dim(0), x.dim(1), ho, wo});
  const auto source = [](std::int64_t o, std::int64_t n, std::int64_t n_out) {
    const double s = (static_cast<double>(o) + 0.5) * static_cast<double>(n) / static_cast<double>(n_out) - 0.5;
    const double f = std::floor(s);
    return std::tuple{std::max<std::int64_t>(0, static_cast<std::int64_t>(f)),
                      std::min<std::int64_t>(n - 1, static_cast<std::int64_t>(std::ceil(s))), s - f};
  };
  for (std::int64_t p = 0; p < planes; ++p)
    for (std::int64_t i = 0; i < ho; ++i)
      for (std::int64_t j = 0; j < wo; ++j) {
        const auto [top, bottom, fy] = source(i, h, ho);
        const auto [left, right, fx] = source(j, w, wo);
        const auto at = [&](std::int64_t r, std::int64_t c) { return x.data()[(p * h + r) * w + c]; };
        const double upper = at(top, left) + (at(top, right) - at(top, left)) * fx;
        const double lower = at(bottom, left) + (at(bottom, right) - at(bottom, left)) * fx;
        y.data()[(p * ho + i) * wo + j] = upper + (lower - upper) * fy;
      }
  return y;
}

double max_abs_difference(const Tensor<double>& a, const Tensor<double>& b) {
  REQUIRE(a.shape() == b.shape());
  double m = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a.data()[i] - b.data()[i]));
  return m;
}

const metrics::InceptionV3<float>& network() {
  static const metrics::InceptionV3<float> net;
  return net;
}

}  // namespace

TEST_CASE("pool2d: max 3x3/2 valid, average 3x3 same without the padding, average 8x8/8 equal their definitions") {
  const auto x = Tensor<double>::randn({2, 3, 11, 9}, Philox{7, 0});
  for (const auto o :
       {metrics::Pool2dOptions{.kind = metrics::PoolKind::max, .kernel = 3, .stride = 2},
        metrics::Pool2dOptions{.kind = metrics::PoolKind::average, .kernel = 3, .stride = 1, .same = true},
        metrics::Pool2dOptions{.kind = metrics::PoolKind::average, .kernel = 5, .stride = 1, .same = true},
        metrics::Pool2dOptions{.kind = metrics::PoolKind::average, .kernel = 8, .stride = 8},
        metrics::Pool2dOptions{.kind = metrics::PoolKind::max, .kernel = 2, .stride = 3}}) {
    CAPTURE(o.kernel);
    CAPTURE(o.stride);
    const auto y = metrics::pool2d(x, o);
    CHECK(max_abs_difference(y, pool_reference(x, o)) < 1e-14);
  }
}

TEST_CASE("pool2d: bad windows are refused with the shapes and sizes named") {
  const auto x = Tensor<double>::zeros({1, 1, 4, 4});
  CHECK(contains(error_of([&] { metrics::pool2d(x, {.kernel = 5}); }), "does not fit x (1, 1, 4, 4)"));
  CHECK(contains(error_of([&] { metrics::pool2d(x, {.kernel = 2, .same = true}); }), "odd kernel"));
  CHECK(contains(error_of([&] { metrics::pool2d(x, {.kernel = 3, .same = true}); }), "same max pooling"));
  CHECK(contains(error_of([&] { metrics::pool2d(x, {.kernel = 0}); }), "kernel 0"));
  CHECK(contains(error_of([&] { metrics::pool2d(Tensor<double>::zeros({4, 4}), {}); }), "(B, C, H, W)"));
}

TEST_CASE("resize_bilinear_half_pixel equals TF's half-pixel-centre bilinear, enlarging and shrinking") {
  const auto x = Tensor<double>::randn({2, 2, 7, 10}, Philox{3, 0});
  for (const auto& size : {std::pair<std::int64_t, std::int64_t>{29, 13}, {3, 4}, {7, 10}, {1, 1}}) {
    const std::int64_t h = size.first, w = size.second;
    CAPTURE(h);
    CAPTURE(w);
    CHECK(max_abs_difference(metrics::resize_bilinear_half_pixel(x, h, w), resize_reference(x, h, w)) < 1e-12);
  }
}

TEST_CASE("InceptionV3 matches the activations of the nsfwjs package's tfjs runtime to 1e-3") {
  if (!inception_weights_available()) return;
  const auto fixture = io::load_tensors<float>(std::filesystem::path(PIXSYN_SOURCE_DIR) /
                                               "tests/fixtures/inception/activations.safetensors");
  // Image 2 is image 1 repeated 4x in each axis, as the fixture script makes it.
  const auto& small = fixture.at("image1");
  auto repeated = Tensor<float>::empty({3, small.dim(1) * 4, small.dim(2) * 4});
  for (std::int64_t c = 0; c < 3; ++c)
    for (std::int64_t y = 0; y < repeated.dim(1); ++y)
      for (std::int64_t x = 0; x < repeated.dim(2); ++x)
        repeated.data()[(c * repeated.dim(1) + y) * repeated.dim(2) + x] =
            small.data()[(c * small.dim(1) + y / 4) * small.dim(2) + x / 4];
  const std::vector<Tensor<float>> images{fixture.at("image0"), small, repeated};

  const std::vector<std::string> layers{"activation_1", "mixed0", "mixed2", "mixed5", "mixed7", "average_pooling2d_10"};
  std::vector<Tensor<float>> inputs;
  for (const auto& image : images)
    inputs.push_back(
        metrics::InceptionV3<float>::prepare(reshape(div(image, 255.0f), {1, 3, image.dim(1), image.dim(2)})));
  const auto a = network().activations(concat(inputs, 0), layers);
  const auto means = [&](int layer) { return mean(a[layer], {2, 3}); };
  const std::map<std::string, Tensor<float>> ours{{"activation_1_mean", means(0)},
                                                  {"mixed0_mean", means(1)},
                                                  {"mixed2_mean", means(2)},
                                                  {"mixed5_pool", means(3)},
                                                  {"mixed7_mean", means(4)},
                                                  {"final_pool", reshape(a[5], {3, 2048})},
                                                  {"mixed0_corner", slice(slice(a[1], 2, 0, 4), 3, 0, 4)}};
  double worst = 0;
  for (std::int64_t i = 0; i < 3; ++i)
    for (const auto& [key, value] : ours) {
      const auto& expected = fixture.at("image" + std::to_string(i) + "/" + key);
      const auto got = reshape(slice(value, 0, i, i + 1), expected.shape());
      double scale = 0, error = 0;
      for (std::int64_t k = 0; k < expected.numel(); ++k) {
        scale = std::max(scale, static_cast<double>(std::abs(expected.data()[k])));
        error = std::max(error, static_cast<double>(std::abs(got.data()[k] - expected.data()[k])));
      }
      const std::string name = key;
      CAPTURE(i);
      CAPTURE(name);
      REQUIRE(scale > 0);
      CHECK(error / scale <= 1e-3);
      worst = std::max(worst, error / scale);
    }
  MESSAGE("largest error relative to each tensor's largest value: ", worst);
}

TEST_CASE("InceptionV3 features: (B, 768) means of mixed5; grayscale is expanded to RGB") {
  if (!inception_weights_available()) return;
  const auto gray = Tensor<float>::rand({1, 1, 40, 30}, Philox{5, 0});
  const auto f = network().features(gray);
  REQUIRE(f.shape() == Shape{1, 768});
  const auto rgb = network().features(concat(std::vector<Tensor<float>>{gray, gray, gray}, 1));
  CHECK(std::equal(f.data(), f.data() + f.numel(), rgb.data()));
  CHECK(*std::max_element(f.data(), f.data() + f.numel()) > 0);
}

TEST_CASE("InceptionV3: a missing weights folder, a bad input and an unknown layer are refused by name") {
  CHECK(contains(error_of([] { metrics::InceptionV3<float> net("/nonexistent/inception"); }),
                 "tools/data/inception.sh /nonexistent/inception"));
  pixsyn::test::TempDir dir;
  std::ofstream(dir.path() / "inception_v3.json") << "{\"model_config\": 3";
  io::save_tensors<float>(dir.path() / "inception_v3.safetensors", {});
  CHECK(contains(error_of([&] { metrics::InceptionV3<float> net(dir.path()); }), "is not valid JSON"));
  CHECK(contains(error_of([] {
                   metrics::InceptionV3<float>::prepare(Tensor<float>::zeros({1, 2, 4, 4}));
                 }),
                 "(B, 1 or 3, H, W), got (1, 2, 4, 4)"));
  if (!inception_weights_available()) return;
  const auto input = Tensor<float>::zeros({1, 3, 299, 299});
  CHECK(contains(error_of([&] { network().activations(input, {"mixed11"}); }), "'mixed11'"));
  CHECK(contains(error_of([&] {
                   network().activations(Tensor<float>::zeros({1, 3, 32, 32}), {"mixed0"});
                 }),
                 "(B, 3, 299, 299), got (1, 3, 32, 32)"));
}

TEST_CASE("FID-IncV3-mixed5 ranks image sets: two halves of Fashion-MNIST < one half blurred < noise") {
  const std::filesystem::path fashion = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
  if (!std::filesystem::exists(fashion)) {
    MESSAGE("dataset-fashion-mnist is not installed (tools/install-deps.sh installs it); skipped");
    return;
  }
  if (!inception_weights_available()) return;
  const std::int64_t n = 8, side = 28;
  const auto array = io::read_idx(fashion);
  // Images 0..n-1 against n..2n-1, as they are, blurred (a 5x5 box, edges clamped), and as uniform noise.
  const auto images = [&](std::int64_t first, bool blur) {
    auto out = Tensor<float>::empty({n, 1, side, side});
    const auto pixel = [&](std::int64_t i, std::int64_t y, std::int64_t x) {
      y = std::clamp<std::int64_t>(y, 0, side - 1);
      x = std::clamp<std::int64_t>(x, 0, side - 1);
      return array.values[static_cast<std::size_t>(((first + i) * side + y) * side + x)] / 255.0f;
    };
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t y = 0; y < side; ++y)
        for (std::int64_t x = 0; x < side; ++x) {
          float v = 0;
          const int r = blur ? 2 : 0;
          for (int dy = -r; dy <= r; ++dy)
            for (int dx = -r; dx <= r; ++dx) v += pixel(i, y + dy, x + dx);
          out.data()[(i * side + y) * side + x] = v / static_cast<float>((2 * r + 1) * (2 * r + 1));
        }
    return out;
  };
  const auto features = [&](const Tensor<float>& x) { return network().features(x); };
  const auto a = features(images(0, false));
  const double halves = metrics::frechet_distance(a, features(images(n, false)));
  const double blurred = metrics::frechet_distance(a, features(images(n, true)));
  const double noise = metrics::frechet_distance(a, features(Tensor<float>::rand({n, 1, side, side}, Philox{9, 0})));
  MESSAGE("FID-IncV3-mixed5 with ", n, " images per set: halves ", halves, ", blurred ", blurred, ", noise ", noise);
  CHECK(halves < 0.75 * blurred);
  CHECK(blurred < 0.75 * noise);
}
