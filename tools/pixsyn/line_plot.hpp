#pragma once
// Line plots as images, for pixsyn spectrum (power spectra) and pixsyn plot (a log.csv column): curves of
// (x, y) points on white, the axes in black, light grey lines at round values of y. No text: the caller
// says what the axes and colours are.
#include <array>
#include <vector>

#include "pixsyn/core/tensor.hpp"

namespace pixsyn::cli {

struct PlotCurve {
  std::vector<double> x, y;  // points in order of x; x >= 0
  std::array<float, 3> rgb{};
  bool dots = false;  // also a dot at every point (sparse samples)
};

struct PlotOptions {
  // y on a log10 scale with a grey line at every power of ten; else linear from 0 (or the least y, if
  // negative) with grey lines at steps of 1, 2 or 5 times a power of ten.
  bool log_y = false;
  std::int64_t width = 640, height = 400;
};

// (3, height, width) in [0, 1]; x runs from 0 to the largest x of the curves.
Tensor<float> line_plot(const std::vector<PlotCurve>& curves, const PlotOptions& options);

}  // namespace pixsyn::cli
