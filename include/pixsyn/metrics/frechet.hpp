#pragma once
// The Fréchet distance between two sets of feature vectors, each summarised by its mean and covariance
// (FID when the features are Inception features; here FID-IncV3-mixed5, docs/evaluation.md):
//   d² = |μa − μb|² + tr Σa + tr Σb − 2 tr (Σa Σb)^½.
// Everything is float64. tr (Σa Σb)^½ is computed as Σ √λ over the eigenvalues λ of the symmetric
// Σa^½ Σb Σa^½, which has the eigenvalues of Σa Σb (Eigen's SelfAdjointEigenSolver for both square roots;
// eigenvalues below zero, which rounding leaves on singular covariances, count as zero).
#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "pixsyn/core/error.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::metrics {

// The mean and covariance (unbiased: divided by count − 1) of `count` feature vectors.
struct FeatureStats {
  Eigen::VectorXd mean;
  Eigen::MatrixXd covariance;
  std::int64_t count = 0;

  // A covariance of F features has full rank only from F + 1 samples on; below that the distance is
  // still defined but biased (the CLI warns).
  bool full_rank_possible() const { return count > mean.size(); }
};

// features (N, F), N >= 2, finite.
template <class T>
FeatureStats feature_stats(const Tensor<T>& features) {
  pixsyn::detail::check(features.rank() == 2 && features.dim(0) >= 2 && features.dim(1) >= 1,
                        "feature_stats: features must be (N, F) with N >= 2 samples, got ", features.shape());
  const std::int64_t n = features.dim(0), f = features.dim(1);
  Eigen::MatrixXd x(n, f);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < f; ++j) {
      const double v = static_cast<double>(features.data()[i * f + j]);
      pixsyn::detail::check(std::isfinite(v), "feature_stats: feature ", j, " of sample ", i, " is ", v);
      x(i, j) = v;
    }
  FeatureStats s;
  s.count = n;
  s.mean = x.colwise().mean().transpose();
  x.rowwise() -= s.mean.transpose();
  s.covariance = (x.transpose() * x) / static_cast<double>(n - 1);
  return s;
}

namespace detail {
// The square root of a symmetric positive semi-definite matrix.
inline Eigen::MatrixXd psd_sqrt(const Eigen::MatrixXd& m) {
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(m);
  pixsyn::detail::check(eig.info() == Eigen::Success, "frechet_distance: the eigensolver did not converge");
  const Eigen::VectorXd roots = eig.eigenvalues().cwiseMax(0.0).cwiseSqrt();
  return eig.eigenvectors() * roots.asDiagonal() * eig.eigenvectors().transpose();
}
}  // namespace detail

inline double frechet_distance(const FeatureStats& a, const FeatureStats& b) {
  pixsyn::detail::check(
      a.mean.size() == b.mean.size() && a.covariance.rows() == a.mean.size() && b.covariance.rows() == b.mean.size(),
      "frechet_distance: the two sets have ", a.mean.size(), " and ", b.mean.size(), " features");
  const Eigen::MatrixXd root_a = detail::psd_sqrt(a.covariance);
  const Eigen::MatrixXd middle = root_a * b.covariance * root_a;
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(0.5 * (middle + middle.transpose()), Eigen::EigenvaluesOnly);
  pixsyn::detail::check(eig.info() == Eigen::Success, "frechet_distance: the eigensolver did not converge");
  const double trace_sqrt = eig.eigenvalues().cwiseMax(0.0).cwiseSqrt().sum();
  const double d = (a.mean - b.mean).squaredNorm() + a.covariance.trace() + b.covariance.trace() - 2 * trace_sqrt;
  return std::max(d, 0.0);  // rounding can leave a tiny negative for identical sets
}

// Of two (N, F) feature sets.
template <class T>
double frechet_distance(const Tensor<T>& a, const Tensor<T>& b) {
  return frechet_distance(feature_stats(a), feature_stats(b));
}

}  // namespace pixsyn::metrics
