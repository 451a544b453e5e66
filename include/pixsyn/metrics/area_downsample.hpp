#pragma once
// Area downsampling by an integer factor: each output pixel is the mean of a factor x factor block
// (torch's interpolate(mode="area") and avg_pool2d for sizes divisible by the factor).
#include <cstdint>

#include "pixsyn/core/error.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::metrics {

// (..., H, W) -> (..., H / factor, W / factor); H and W must be multiples of factor.
template <class T>
Tensor<T> area_downsample(const Tensor<T>& images, std::int64_t factor) {
  constexpr const char* op = "metrics::area_downsample";
  pixsyn::detail::check(images.defined() && images.rank() >= 2, op, ": expected images (..., H, W), got ",
                        images.defined() ? images.shape() : Shape{});
  pixsyn::detail::check(factor > 0, op, ": factor must be positive, got ", factor);
  const std::int64_t h = images.dim(-2), w = images.dim(-1);
  pixsyn::detail::check(h % factor == 0 && w % factor == 0 && h > 0 && w > 0, op, ": the size ", h, "x", w,
                        " is not a positive multiple of the factor ", factor);
  const std::int64_t oh = h / factor, ow = w / factor, planes = images.numel() / (h * w);
  Shape shape = images.shape();
  shape[-2] = oh;
  shape[-1] = ow;
  auto out = Tensor<T>::empty(shape);
  const double scale = 1.0 / static_cast<double>(factor * factor);
  for (std::int64_t p = 0; p < planes; ++p) {
    const T* src = images.data() + p * h * w;
    T* dst = out.data() + p * oh * ow;
    for (std::int64_t y = 0; y < oh; ++y)
      for (std::int64_t x = 0; x < ow; ++x) {
        double sum = 0;  // in double: the mean of factor^2 values, rounded once
        for (std::int64_t dy = 0; dy < factor; ++dy)
          for (std::int64_t dx = 0; dx < factor; ++dx)
            sum += static_cast<double>(src[(y * factor + dy) * w + x * factor + dx]);
        dst[y * ow + x] = static_cast<T>(sum * scale);
      }
  }
  return out;
}

}  // namespace pixsyn::metrics
