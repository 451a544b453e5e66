// Fréchet distance, KID and the power spectrum (metrics/frechet.hpp, kid.hpp, spectrum.hpp) against
// closed forms and an independent PyTorch computation (tools/reference/make_fid_fixtures.py).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <numbers>

#include <pixsyn/metrics/frechet.hpp>
#include <pixsyn/metrics/kid.hpp>
#include <pixsyn/metrics/spectrum.hpp>
#include <pixsyn/ops/layout.hpp>
#include "support/errors.hpp"
#include "support/fixture_file.hpp"

using namespace pixsyn;
using pixsyn::test::contains;
using pixsyn::test::error_of;

namespace {

const test::FixtureFile& fixture() { return test::fixture_file("metrics/fid.safetensors"); }

double value(const std::string& key) { return fixture().scalar(key); }

metrics::FeatureStats gaussian(Eigen::VectorXd mean, Eigen::MatrixXd covariance) {
  return {std::move(mean), std::move(covariance), 1000};
}

}  // namespace

TEST_CASE("Fréchet distance equals PyTorch's (eigenvalues of the covariance product), also below full rank") {
  const auto& a = fixture().at("a");
  CHECK(metrics::frechet_distance(a, fixture().at("b")) == doctest::Approx(value("fd_ab")).epsilon(1e-10));
  CHECK(metrics::frechet_distance(a, fixture().at("c")) == doctest::Approx(value("fd_ac")).epsilon(1e-8));
  CHECK(metrics::frechet_distance(a, a) < 1e-9);
  CHECK(metrics::feature_stats(a).full_rank_possible());
  CHECK_FALSE(metrics::feature_stats(fixture().at("c")).full_rank_possible());
}

TEST_CASE("Fréchet distance of Gaussians: closed forms for diagonal and for non-commuting 2x2 covariances") {
  // Diagonal: |Δμ|² + Σ (√a − √b)².
  Eigen::VectorXd m1(3), m2(3);
  m1 << 0, 1, 2;
  m2 << 1, 1, -1;
  const Eigen::Vector3d d1(4, 1, 0.25), d2(1, 9, 0.25);
  const double diagonal = 1 + 9 + (2 - 1) * (2 - 1) + (1 - 3) * (1 - 3) + 0;
  CHECK(metrics::frechet_distance(gaussian(m1, d1.asDiagonal()), gaussian(m2, d2.asDiagonal())) ==
        doctest::Approx(diagonal).epsilon(1e-12));
  // 2x2: tr √M = √(tr M + 2 √det M) for M = Σ1 Σ2 with positive eigenvalues.
  Eigen::Matrix2d s1, s2;
  s1 << 2, 0.7, 0.7, 1;
  s2 << 0.5, -0.3, -0.3, 3;
  const Eigen::Matrix2d product = s1 * s2;
  const double trace_sqrt = std::sqrt(product.trace() + 2 * std::sqrt(product.determinant()));
  const double expected = s1.trace() + s2.trace() - 2 * trace_sqrt;
  const Eigen::VectorXd zero = Eigen::VectorXd::Zero(2);
  CHECK(metrics::frechet_distance(gaussian(zero, s1), gaussian(zero, s2)) == doctest::Approx(expected).epsilon(1e-12));
}

TEST_CASE("KID equals the unbiased MMD² written out pair by pair (whole sets as the one subset)") {
  const auto& a = fixture().at("a");
  const auto whole = metrics::kernel_inception_distance(a, fixture().at("b"), {.subsets = 1, .subset_size = 40});
  CHECK(whole.subset_size == 40);
  CHECK(whole.mean == doctest::Approx(value("kid_ab")).epsilon(1e-10));
  CHECK(whole.std == 0);
  const auto small = metrics::kernel_inception_distance(slice(a, 0, 0, 6), fixture().at("c"), {.subsets = 3});
  CHECK(small.subset_size == 6);  // 1000 reduced to the sets' size
  CHECK(small.mean == doctest::Approx(value("kid_ac")).epsilon(1e-10));
  CHECK(small.std < 1e-9 * std::abs(small.mean));  // every subset is the whole set, in another order
}

TEST_CASE("KID over random subsets: seeded, varies between subsets, near the whole-set value") {
  const auto& a = fixture().at("a");
  const auto& b = fixture().at("b");
  const auto r1 = metrics::kernel_inception_distance(a, b, {.subsets = 50, .subset_size = 20, .seed = 3});
  const auto r2 = metrics::kernel_inception_distance(a, b, {.subsets = 50, .subset_size = 20, .seed = 3});
  const auto r3 = metrics::kernel_inception_distance(a, b, {.subsets = 50, .subset_size = 20, .seed = 4});
  CHECK(r1.mean == r2.mean);
  CHECK(r1.mean != r3.mean);
  CHECK(r1.std > 0);
  // Unbiased: the subset mean estimates the whole-set value within a few standard errors.
  CHECK(std::abs(r1.mean - value("kid_ab")) < 4 * r1.std / std::sqrt(50.0) + 0.05 * value("kid_ab"));
}

TEST_CASE("Fréchet distance and KID refuse mismatched, too small and non-finite feature sets by name") {
  const auto a = Tensor<double>::zeros({4, 3});
  CHECK(contains(error_of([&] { metrics::frechet_distance(a, Tensor<double>::zeros({4, 2})); }), "3 and 2 features"));
  CHECK(contains(error_of([&] { metrics::feature_stats(Tensor<double>::zeros({1, 3})); }), "N >= 2 samples"));
  auto bad = Tensor<double>::zeros({4, 3});
  bad.data()[7] = std::numeric_limits<double>::quiet_NaN();
  CHECK(contains(error_of([&] { metrics::feature_stats(bad); }), "feature 1 of sample 2 is nan"));
  CHECK(contains(error_of([&] { metrics::kernel_inception_distance(a, bad); }), "of the second set is nan"));
  CHECK(contains(error_of([&] {
                   metrics::kernel_inception_distance(a, Tensor<double>::zeros({1, 3}));
                 }),
                 "needs 2 samples per set, got 4 and 1"));
  CHECK(contains(error_of([&] { metrics::kernel_inception_distance(a, a, {.subsets = 0}); }), "subsets 0"));
}

TEST_CASE("power spectrum: a cosine puts all its power on its ring; Parseval holds; averages over the batch") {
  const std::int64_t n = 32, k0 = 5;
  auto images = Tensor<double>::empty({2, 3, n, n});
  for (std::int64_t i = 0; i < images.numel(); ++i) {
    const std::int64_t x = i % n, b = i / (3 * n * n);
    images.data()[i] = (b + 1) * std::cos(2 * std::numbers::pi * static_cast<double>(k0 * x) / n);
  }
  const auto s = metrics::power_spectrum(images);
  REQUIRE(s.power.size() == n / 2 + 1);
  CHECK(s.frequency[k0] == doctest::Approx(5.0 / 32));
  // |F|² / n² at (0, ±k0) is (n²/2)² / n² = n²/4 for amplitude 1; the ring's mean divides by its count.
  std::int64_t ring = 0;
  for (std::int64_t u = 0; u < n; ++u)
    for (std::int64_t v = 0; v < n; ++v) {
      const double fu = (u <= n / 2 ? u : u - n), fv = (v <= n / 2 ? v : v - n);
      ring += std::lround(std::sqrt(fu * fu + fv * fv)) == k0;
    }
  const double amplitude2 = (1.0 + 4.0) / 2;  // the batch's mean of (b + 1)²
  CHECK(s.power[k0] == doctest::Approx(2 * amplitude2 * n * n / 4 / ring).epsilon(1e-12));
  for (std::int64_t k = 0; k <= n / 2; ++k)
    if (k != k0) CHECK(s.power[k] < 1e-20);

  // Parseval on random data: the ring means times their counts sum to Σ x². A 2x2 image: ring 0 holds the
  // DC term (|F|²/4 = 4 mean²), ring 1 the other three frequencies (radii 1, 1 and √2 rounded to 1).
  auto tiny = Tensor<double>::randn({1, 1, 2, 2}, Philox{1, 0});
  const auto t = metrics::power_spectrum(tiny);
  double energy = 0, mean = 0;
  for (int i = 0; i < 4; ++i) {
    energy += tiny.data()[i] * tiny.data()[i];
    mean += tiny.data()[i] / 4;
  }
  CHECK(t.power[0] == doctest::Approx(4 * mean * mean).epsilon(1e-12));
  CHECK(t.power[0] + 3 * t.power[1] == doctest::Approx(energy).epsilon(1e-12));
  CHECK(contains(error_of([] { metrics::power_spectrum(Tensor<double>::zeros({1, 1, 1, 4})); }), "H, W >= 2"));
}
