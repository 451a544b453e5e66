#pragma once
// Kernel Inception Distance (Bińkowski et al. 2018): the unbiased estimate of the squared maximum mean
// discrepancy between two feature sets under the cubic polynomial kernel k(x, y) = (x·y / F + 1)³,
// averaged over random subsets of equal size from each set (as torch-fidelity and clean-fid do):
//   MMD²_u = Σ_{i≠j} k(xi, xj) / (m(m−1)) + Σ_{i≠j} k(yi, yj) / (m(m−1)) − 2 Σ_{i,j} k(xi, yj) / m².
// Unlike the Fréchet distance it is unbiased for any sample count, so it still works on small sets.
// float64 throughout; the subsets are drawn by a Fisher–Yates shuffle on Philox numbers (the same on
// every platform for a seed).
#include <Eigen/Dense>

#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "pixsyn/core/error.hpp"
#include "pixsyn/core/philox.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::metrics {

struct KidOptions {
  std::int64_t subsets = 100;
  std::int64_t subset_size = 1000;  // reduced to the smaller set's size when that is smaller
  std::uint64_t seed = 0;
};

struct KidResult {
  double mean = 0;  // the KID
  double std = 0;   // the standard deviation over subsets (0 for one subset)
  std::int64_t subset_size = 0;
};

namespace detail {

inline Eigen::MatrixXd to_matrix(const char* what, const Tensor<double>& t) {
  Eigen::MatrixXd m(t.dim(0), t.dim(1));
  for (std::int64_t i = 0; i < t.dim(0); ++i)
    for (std::int64_t j = 0; j < t.dim(1); ++j) {
      const double v = t.data()[i * t.dim(1) + j];
      pixsyn::detail::check(std::isfinite(v), "kernel_inception_distance: feature ", j, " of sample ", i, " of ", what,
                            " is ", v);
      m(i, j) = v;
    }
  return m;
}

// m distinct row indices of 0..n-1: the first m of a Fisher–Yates shuffle.
inline std::vector<std::int64_t> draw_subset(std::int64_t n, std::int64_t m, Philox& gen) {
  std::vector<std::int64_t> index(static_cast<std::size_t>(n));
  std::iota(index.begin(), index.end(), 0);
  for (std::int64_t i = 0; i < m; ++i) {
    const double u = pixsyn::detail::philox_uniform(gen.seed, gen.offset, static_cast<std::uint64_t>(i));
    const auto j = i + std::min(n - i - 1, static_cast<std::int64_t>(u * static_cast<double>(n - i)));
    std::swap(index[static_cast<std::size_t>(i)], index[static_cast<std::size_t>(j)]);
  }
  gen.offset += static_cast<std::uint64_t>((m + 3) / 4);
  index.resize(static_cast<std::size_t>(m));
  return index;
}

inline Eigen::MatrixXd rows_of(const Eigen::MatrixXd& x, const std::vector<std::int64_t>& index) {
  Eigen::MatrixXd out(static_cast<Eigen::Index>(index.size()), x.cols());
  for (std::size_t i = 0; i < index.size(); ++i) out.row(static_cast<Eigen::Index>(i)) = x.row(index[i]);
  return out;
}

inline double mmd2_unbiased(const Eigen::MatrixXd& x, const Eigen::MatrixXd& y) {
  const double f = static_cast<double>(x.cols()), m = static_cast<double>(x.rows());
  const auto kernel = [f](const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
    return ((a * b.transpose()) / f).array().unaryExpr([](double v) { return (v + 1) * (v + 1) * (v + 1); }).matrix();
  };
  const Eigen::MatrixXd kxx = kernel(x, x), kyy = kernel(y, y), kxy = kernel(x, y);
  const double within = (kxx.sum() - kxx.trace() + kyy.sum() - kyy.trace()) / (m * (m - 1));
  return within - 2 * kxy.sum() / (m * m);
}

}  // namespace detail

// a (Na, F), b (Nb, F); at least 2 samples each.
template <class T>
KidResult kernel_inception_distance(const Tensor<T>& a, const Tensor<T>& b, const KidOptions& options = {}) {
  pixsyn::detail::check(a.rank() == 2 && b.rank() == 2 && a.dim(1) == b.dim(1) && a.dim(1) >= 1,
                        "kernel_inception_distance: expects two (N, F) feature sets, got ", a.shape(), " and ",
                        b.shape());
  pixsyn::detail::check(a.dim(0) >= 2 && b.dim(0) >= 2, "kernel_inception_distance: needs 2 samples per set, got ",
                        a.dim(0), " and ", b.dim(0));
  pixsyn::detail::check(options.subsets >= 1 && options.subset_size >= 2, "kernel_inception_distance: subsets ",
                        options.subsets, " must be >= 1 and subset_size ", options.subset_size, " >= 2");
  const auto as_double = [](const Tensor<T>& t) {
    auto d = Tensor<double>::empty(t.shape());
    for (std::int64_t i = 0; i < t.numel(); ++i) d.data()[i] = static_cast<double>(t.data()[i]);
    return d;
  };
  const Eigen::MatrixXd x = detail::to_matrix("the first set", as_double(a));
  const Eigen::MatrixXd y = detail::to_matrix("the second set", as_double(b));
  KidResult r;
  r.subset_size = std::min({options.subset_size, a.dim(0), b.dim(0)});
  Philox gen{options.seed, 0};
  std::vector<double> values;
  for (std::int64_t s = 0; s < options.subsets; ++s) {
    const auto ix = detail::draw_subset(a.dim(0), r.subset_size, gen);
    const auto iy = detail::draw_subset(b.dim(0), r.subset_size, gen);
    values.push_back(detail::mmd2_unbiased(detail::rows_of(x, ix), detail::rows_of(y, iy)));
  }
  r.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  double var = 0;
  for (const double v : values) var += (v - r.mean) * (v - r.mean);
  r.std = values.size() > 1 ? std::sqrt(var / static_cast<double>(values.size() - 1)) : 0.0;
  return r;
}

}  // namespace pixsyn::metrics
