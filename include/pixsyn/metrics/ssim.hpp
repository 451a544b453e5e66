#pragma once
// Structural similarity (Wang, Bovik, Sheikh, Simoncelli 2004) in its standard form: local means,
// variances and covariance under a normalised Gaussian window (11 x 11, sigma 1.5), constants
// C1 = (K1 L)^2 and C2 = (K2 L)^2 with K1 = 0.01, K2 = 0.03 and L the data range, population
// (biased) moments, and the SSIM map averaged over the positions where the window lies wholly inside
// the image ("valid", as Wang's reference ssim_index.m and pytorch_msssim; scikit-image's
// gaussian_weights=True gives the same mean because it crops the border it pads). A multi-channel
// image is the mean of its channels' values.
#include <cmath>
#include <cstdint>
#include <vector>

#include "pixsyn/core/error.hpp"
#include "pixsyn/core/tensor.hpp"
#include "pixsyn/metrics/image_pair.hpp"

namespace pixsyn::metrics {

struct SsimOptions {
  double data_range = 2.0;  // L: 2 for images in [-1, 1], 1 for [0, 1], 255 for 8-bit pixels
  int window = 11;          // odd side of the Gaussian window
  double sigma = 1.5;
  double k1 = 0.01, k2 = 0.03;
};

namespace detail {

// The 1-D Gaussian taps, normalised to sum 1; the 2-D window is their outer product.
inline std::vector<double> gaussian_taps(int size, double sigma) {
  std::vector<double> taps(static_cast<std::size_t>(size));
  double total = 0;
  for (int i = 0; i < size; ++i) {
    const double x = i - (size - 1) / 2.0;
    taps[static_cast<std::size_t>(i)] = std::exp(-x * x / (2 * sigma * sigma));
    total += taps[static_cast<std::size_t>(i)];
  }
  for (double& t : taps) t /= total;
  return taps;
}

// Valid correlation of an (h, w) plane with the separable window: (h - k + 1, w - k + 1).
inline std::vector<double> filter_valid(const std::vector<double>& plane, std::int64_t h, std::int64_t w,
                                        const std::vector<double>& taps) {
  const auto k = static_cast<std::int64_t>(taps.size());
  const std::int64_t oh = h - k + 1, ow = w - k + 1;
  std::vector<double> rows(static_cast<std::size_t>(h * ow)), out(static_cast<std::size_t>(oh * ow));
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < ow; ++x) {
      double s = 0;
      for (std::int64_t t = 0; t < k; ++t) s += taps[t] * plane[y * w + x + t];
      rows[y * ow + x] = s;
    }
  for (std::int64_t y = 0; y < oh; ++y)
    for (std::int64_t x = 0; x < ow; ++x) {
      double s = 0;
      for (std::int64_t t = 0; t < k; ++t) s += taps[t] * rows[(y + t) * ow + x];
      out[y * ow + x] = s;
    }
  return out;
}

}  // namespace detail

// Mean SSIM of two images (H, W) or (C, H, W) of equal shape, each side at least the window.
template <class T>
double ssim(const Tensor<T>& a, const Tensor<T>& b, const SsimOptions& options = {}) {
  constexpr const char* op = "metrics::ssim";
  detail::check_image_pair(op, a, b, options.data_range);
  pixsyn::detail::check(a.rank() == 2 || a.rank() == 3, op, ": expected an image (H, W) or (C, H, W), got ", a.shape());
  pixsyn::detail::check(options.window > 0 && options.window % 2 == 1, op,
                        ": the window must be odd and positive, got ", options.window);
  pixsyn::detail::check(std::isfinite(options.sigma) && options.sigma > 0, op, ": sigma must be positive, got ",
                        options.sigma);
  const std::int64_t h = a.dim(-2), w = a.dim(-1), channels = a.rank() == 3 ? a.dim(0) : 1;
  pixsyn::detail::check(h >= options.window && w >= options.window, op, ": the image is ", h, "x", w,
                        "; SSIM needs at least the ", options.window, "x", options.window, " window");
  const auto taps = detail::gaussian_taps(options.window, options.sigma);
  const double c1 = std::pow(options.k1 * options.data_range, 2), c2 = std::pow(options.k2 * options.data_range, 2);
  const std::int64_t n = h * w;
  std::vector<double> x(static_cast<std::size_t>(n)), y(x.size()), xx(x.size()), yy(x.size()), xy(x.size());
  double total = 0;
  for (std::int64_t c = 0; c < channels; ++c) {
    for (std::int64_t i = 0; i < n; ++i) {
      x[i] = static_cast<double>(a.data()[c * n + i]);
      y[i] = static_cast<double>(b.data()[c * n + i]);
      xx[i] = x[i] * x[i];
      yy[i] = y[i] * y[i];
      xy[i] = x[i] * y[i];
    }
    const auto mx = detail::filter_valid(x, h, w, taps), my = detail::filter_valid(y, h, w, taps);
    const auto sxx = detail::filter_valid(xx, h, w, taps), syy = detail::filter_valid(yy, h, w, taps);
    const auto sxy = detail::filter_valid(xy, h, w, taps);
    double sum = 0;
    for (std::size_t i = 0; i < mx.size(); ++i) {
      const double vx = sxx[i] - mx[i] * mx[i], vy = syy[i] - my[i] * my[i], cov = sxy[i] - mx[i] * my[i];
      sum += (2 * mx[i] * my[i] + c1) * (2 * cov + c2) / ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2));
    }
    total += sum / static_cast<double>(mx.size());
  }
  return total / static_cast<double>(channels);
}

}  // namespace pixsyn::metrics
