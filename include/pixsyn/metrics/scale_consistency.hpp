#pragma once
// Scale consistency (CREPS paper, Table 3): how well a generator's render at a higher resolution
// agrees with its render at the training resolution. Each latent is rendered at R x R and at
// (factor R) x (factor R) points over the same span; the larger render is area-downsampled to R and
// compared with the smaller one by PSNR and SSIM. The generator is any callback, so CIPS, CREPS and
// GPU renderers are measured the same way.
#include <algorithm>
#include <cstdint>
#include <functional>

#include "pixsyn/core/error.hpp"
#include "pixsyn/core/finite.hpp"
#include "pixsyn/core/tensor.hpp"
#include "pixsyn/metrics/area_downsample.hpp"
#include "pixsyn/metrics/psnr.hpp"
#include "pixsyn/metrics/ssim.hpp"

namespace pixsyn::metrics {

struct ScaleConsistencyOptions {
  std::int64_t factor = 2;  // the larger render has factor R points per side
  std::int64_t batch = 1;   // latents per call of the render callback
  // The images' value range: both renders are clamped to it (as saving them would), and high - low is
  // the data range of PSNR and SSIM. Generators output [-1, 1].
  double low = -1, high = 1;
  int ssim_window = 11;
  double ssim_sigma = 1.5;
  // Called after every batch with (latents done, latents in all).
  std::function<void(std::int64_t, std::int64_t)> progress;
};

struct ScaleConsistency {
  double psnr = 0;  // dB, the mean over latents (+infinity only if every pair is identical)
  double ssim = 0;  // the mean over latents
  std::int64_t samples = 0;
};

namespace detail {

template <class T>
void check_render(const Tensor<T>& images, std::int64_t first, std::int64_t count, std::int64_t size) {
  constexpr const char* op = "metrics::scale_consistency";
  pixsyn::detail::check(images.defined() && images.rank() == 4 && images.dim(0) == count && images.dim(1) > 0 &&
                            images.dim(2) == size && images.dim(3) == size,
                        op, ": the render of latents [", first, ", ", first + count, ") at ", size, "x", size,
                        " has shape ", images.defined() ? images.shape() : Shape{}, "; expected (", count, ", C, ",
                        size, ", ", size, ")");
  if (const auto bad = first_non_finite(images))
    pixsyn::detail::fail(op, ": the render of latents [", first, ", ", first + count, ") at ", size, "x", size,
                         " holds a non-finite value at flat index ", *bad);
}

template <class T>
Tensor<T> clamped(const Tensor<T>& images, double low, double high) {
  auto out = images.clone();
  for (std::int64_t i = 0; i < out.numel(); ++i)
    out.data()[i] = static_cast<T>(std::clamp(static_cast<double>(out.data()[i]), low, high));
  return out;
}

}  // namespace detail

// render(first, count, size) -> (count, C, size, size): latents first .. first + count - 1 rendered
// at size x size points spanning the generator's full image (the training grid at size = R).
template <class Render>
ScaleConsistency scale_consistency(Render&& render, std::int64_t samples, std::int64_t size,
                                   const ScaleConsistencyOptions& options = {}) {
  constexpr const char* op = "metrics::scale_consistency";
  pixsyn::detail::check(samples > 0, op, ": the number of latents must be positive, got ", samples);
  pixsyn::detail::check(size > 0, op, ": the size must be positive, got ", size);
  pixsyn::detail::check(options.factor >= 2, op, ": the factor must be at least 2, got ", options.factor);
  pixsyn::detail::check(options.batch > 0, op, ": the batch must be positive, got ", options.batch);
  pixsyn::detail::check(std::isfinite(options.low) && std::isfinite(options.high) && options.low < options.high, op,
                        ": the value range [", options.low, ", ", options.high, "] must be finite and non-empty");
  const std::int64_t large = pixsyn::detail::multiply_sizes(size, options.factor, op, ": the larger render,");
  const SsimOptions ssim_options{
      .data_range = options.high - options.low, .window = options.ssim_window, .sigma = options.ssim_sigma};
  ScaleConsistency out{.samples = samples};
  for (std::int64_t first = 0; first < samples; first += options.batch) {
    const std::int64_t count = std::min(options.batch, samples - first);
    const auto small = render(first, count, size);
    const auto big = render(first, count, large);
    detail::check_render(small, first, count, size);
    detail::check_render(big, first, count, large);
    pixsyn::detail::check(small.dim(1) == big.dim(1), op, ": the renders at ", size, " and ", large,
                          " have different channel counts ", small.dim(1), " and ", big.dim(1));
    const auto reference = detail::clamped(small, options.low, options.high);
    const auto downsampled = area_downsample(detail::clamped(big, options.low, options.high), options.factor);
    for (std::int64_t i = 0; i < count; ++i) {
      const auto a = reference.narrow(i, 1).reshape(Shape{small.dim(1), size, size});
      const auto b = downsampled.narrow(i, 1).reshape(Shape{small.dim(1), size, size});
      out.psnr += psnr(a, b, ssim_options.data_range);
      out.ssim += ssim(a, b, ssim_options);
    }
    if (options.progress) options.progress(first + count, samples);
  }
  out.psnr /= static_cast<double>(samples);
  out.ssim /= static_cast<double>(samples);
  return out;
}

}  // namespace pixsyn::metrics
