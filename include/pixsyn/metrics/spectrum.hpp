#pragma once
// The azimuthally averaged power spectrum of images (the spectral analysis of the CIPS paper, Fig. 7,
// after Durall et al. 2020): each image is turned to gray (the mean of its channels), its 2-D DFT F
// gives the power |F(u, v)|² / (H·W) at frequency (u/H, v/W) cycles per pixel (signed, folded), and the
// powers are averaged over rings of radius k / n cycles per pixel, k = 0 .. n/2, n = min(H, W) (a
// frequency belongs to the ring nearest to its radius; those beyond n/2 are left out). The spectra of a
// batch are averaged. float64 throughout, FFT through Eigen's FFT module (KISS FFT).
#include <unsupported/Eigen/FFT>

#include <cmath>
#include <complex>
#include <cstdint>
#include <vector>

#include "pixsyn/core/error.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::metrics {

struct PowerSpectrum {
  std::vector<double> frequency;  // cycles per pixel: k / n
  std::vector<double> power;      // the mean power on ring k, averaged over the images
};

// images (B, C, H, W), B >= 1, H, W >= 2.
template <class T>
PowerSpectrum power_spectrum(const Tensor<T>& images) {
  pixsyn::detail::check(
      images.rank() == 4 && images.dim(0) >= 1 && images.dim(1) >= 1 && images.dim(2) >= 2 && images.dim(3) >= 2,
      "power_spectrum: images must be (B, C, H, W) with H, W >= 2, got ", images.shape());
  const std::int64_t b = images.dim(0), c = images.dim(1), h = images.dim(2), w = images.dim(3);
  const std::int64_t n = std::min(h, w), rings = n / 2 + 1;
  // The ring of every frequency (or -1), and how many frequencies each ring holds.
  std::vector<std::int64_t> ring(static_cast<std::size_t>(h * w));
  std::vector<double> count(static_cast<std::size_t>(rings), 0.0);
  for (std::int64_t u = 0; u < h; ++u)
    for (std::int64_t v = 0; v < w; ++v) {
      const double fu = static_cast<double>(u <= h / 2 ? u : u - h) / static_cast<double>(h);
      const double fv = static_cast<double>(v <= w / 2 ? v : v - w) / static_cast<double>(w);
      const auto k = static_cast<std::int64_t>(std::lround(std::sqrt(fu * fu + fv * fv) * static_cast<double>(n)));
      ring[static_cast<std::size_t>(u * w + v)] = k < rings ? k : -1;
      if (k < rings) count[static_cast<std::size_t>(k)] += 1;
    }
  PowerSpectrum s;
  s.power.assign(static_cast<std::size_t>(rings), 0.0);
  for (std::int64_t k = 0; k < rings; ++k) s.frequency.push_back(static_cast<double>(k) / static_cast<double>(n));

  Eigen::FFT<double> fft;
  std::vector<std::complex<double>> rows(static_cast<std::size_t>(h * w)), line_in, line_out;
  for (std::int64_t i = 0; i < b; ++i) {
    // Gray, then a DFT along each row, then along each column.
    for (std::int64_t y = 0; y < h; ++y) {
      std::vector<double> gray(static_cast<std::size_t>(w), 0.0);
      for (std::int64_t ch = 0; ch < c; ++ch)
        for (std::int64_t x = 0; x < w; ++x)
          gray[static_cast<std::size_t>(x)] +=
              static_cast<double>(images.data()[((i * c + ch) * h + y) * w + x]) / static_cast<double>(c);
      fft.fwd(line_out, gray);
      std::copy(line_out.begin(), line_out.end(), rows.begin() + y * w);
    }
    line_in.resize(static_cast<std::size_t>(h));
    for (std::int64_t v = 0; v < w; ++v) {
      for (std::int64_t u = 0; u < h; ++u)
        line_in[static_cast<std::size_t>(u)] = rows[static_cast<std::size_t>(u * w + v)];
      fft.fwd(line_out, line_in);
      for (std::int64_t u = 0; u < h; ++u) {
        const auto k = ring[static_cast<std::size_t>(u * w + v)];
        if (k >= 0) s.power[static_cast<std::size_t>(k)] += std::norm(line_out[static_cast<std::size_t>(u)]);
      }
    }
  }
  for (std::int64_t k = 0; k < rings; ++k)
    s.power[static_cast<std::size_t>(k)] /= count[static_cast<std::size_t>(k)] * static_cast<double>(h * w * b);
  return s;
}

}  // namespace pixsyn::metrics
