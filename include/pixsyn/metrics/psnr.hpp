#pragma once
// Peak signal-to-noise ratio of two images: 10 log10(L^2 / MSE), with L the data range (the
// distance between the darkest and the brightest value: 2 for generator output in [-1, 1], 255 for
// 8-bit pixels). The MSE is over every element, so a (C, H, W) image counts all its channels.
#include <cmath>
#include <cstdint>
#include <limits>

#include "pixsyn/core/tensor.hpp"
#include "pixsyn/metrics/image_pair.hpp"

namespace pixsyn::metrics {

// Mean squared difference of two tensors of equal shape, accumulated in double.
template <class T>
double mean_squared_error(const Tensor<T>& a, const Tensor<T>& b) {
  detail::check_image_pair("metrics::mean_squared_error", a, b, 1.0);
  double sum = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    const double d = static_cast<double>(a.data()[i]) - static_cast<double>(b.data()[i]);
    sum += d * d;
  }
  return sum / static_cast<double>(a.numel());
}

// PSNR in dB; +infinity for identical images.
template <class T>
double psnr(const Tensor<T>& a, const Tensor<T>& b, double data_range) {
  detail::check_image_pair("metrics::psnr", a, b, data_range);
  const double mse = mean_squared_error(a, b);
  if (mse == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(data_range * data_range / mse);
}

}  // namespace pixsyn::metrics
