#include <doctest/doctest.h>

#include <Eigen/Dense>
#include <cstdio>
#include <pixsyn/io/image.hpp>
#include <pixsyn/nn/biline.hpp>
#include <pixsyn/train/biline_fit.hpp>
#include <string>

using namespace pixsyn;

namespace {

// The rank-D optimum by Eckart–Young, from Eigen's Jacobi SVD in double: Σ_c Σ_{k>D} σ_k² / (C·H·W).
double truncated_svd_mse(const Tensor<float>& image, int thickness) {
  const auto channels = image.dim(0), height = image.dim(1), width = image.dim(2);
  double residual = 0;
  for (std::int64_t c = 0; c < channels; ++c) {
    Eigen::MatrixXd m(height, width);
    for (std::int64_t i = 0; i < height; ++i)
      for (std::int64_t j = 0; j < width; ++j) m(i, j) = image.at({c, i, j});
    const Eigen::VectorXd sigma = Eigen::JacobiSVD<Eigen::MatrixXd>(m).singularValues();
    for (Eigen::Index k = thickness; k < sigma.size(); ++k) residual += sigma[k] * sigma[k];
  }
  return residual / static_cast<double>(image.numel());
}

}  // namespace

TEST_CASE("BiLine composes rows times columns per channel, as Var and as Tensor") {
  Philox gen{5};
  nn::BiLine<double> biline(2, 3, 4, 5, gen);
  CHECK(biline.rows.shape() == Shape{2, 3, 5});
  CHECK(biline.cols.shape() == Shape{2, 4, 5});
  CHECK(biline.parameter_count() == 2 * (3 + 4) * 5);
  CHECK(biline.named_parameters()[0].first == "rows");
  CHECK(biline.named_parameters()[1].first == "cols");
  const auto image = biline.forward<Tensor<double>>();
  const auto recorded = biline.forward();
  CHECK(recorded.requires_grad());
  REQUIRE(image.shape() == Shape{2, 3, 4});
  for (std::int64_t c = 0; c < 2; ++c)
    for (std::int64_t i = 0; i < 3; ++i)
      for (std::int64_t j = 0; j < 4; ++j) {
        double expected = 0;
        for (std::int64_t d = 0; d < 5; ++d)
          expected += biline.rows.value().at({c, i, d}) * biline.cols.value().at({c, j, d});
        CHECK(image.at({c, i, j}) == doctest::Approx(expected).epsilon(1e-12));
        CHECK(recorded.value().at({c, i, j}) == image.at({c, i, j}));
      }
  // The initial image sits near the level it was asked for (0.5 by default).
  Philox big_gen{6};
  nn::BiLine<double> big(3, 32, 32, 8, big_gen);
  CHECK(mean(big.forward<Tensor<double>>()).item() == doctest::Approx(0.5).epsilon(0.1));
  CHECK_THROWS_WITH_AS(nn::BiLine<double>(3, 4, 0, 2, gen), doctest::Contains("positive"), pixsyn::Error);
  CHECK_THROWS_WITH_AS(train::fit_biline(Tensor<float>::zeros({4, 4}), {}), doctest::Contains("(C, H, W)"),
                       pixsyn::Error);
}

TEST_CASE("fitting a photo with a bi-line reaches the truncated-SVD optimum") {
  // 3000 Adam steps at 128 x 128 land within 0.05% of the optimum on all six photos for D = 1, 4, 8
  // (docs/biline.md); one photo keeps this test fast.
  const std::string name = "bridge";
  auto image = io::read_image(PIXSYN_SHARED_DIR "/data/photos/" + name + ".png");
  image = io::resize_bilinear(image, 128, 128);
  for (int thickness : {1, 4, 8}) {
    const double optimum = truncated_svd_mse(image, thickness);
    std::int64_t reports = 0;
    const auto fit = train::fit_biline(
        image, {.thickness = thickness, .steps = 3000, .progress = [&](std::int64_t, double) { ++reports; }});
    const double ratio = fit.mse / optimum;
    MESSAGE(name, " D = ", thickness, ": mse ", fit.mse, ", optimum ", optimum, ", ratio ", ratio);
    CHECK(reports == 10);
    CHECK(ratio >= 1 - 1e-4);  // no rank-D image beats the SVD (up to float rounding)
    CHECK(ratio <= 1.10);
    // The reported MSE is the model's.
    const auto fitted = fit.model->forward<Tensor<float>>();
    CHECK(mean(square(fitted - image)).item() == doctest::Approx(fit.mse).epsilon(1e-6));
  }
}
