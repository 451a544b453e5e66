#include "line_plot.hpp"

#include <algorithm>
#include <cmath>

#include "pixsyn/core/error.hpp"

namespace pixsyn::cli {

Tensor<float> line_plot(const std::vector<PlotCurve>& curves, const PlotOptions& o) {
  constexpr std::int64_t margin = 30;
  const std::int64_t width = o.width, height = o.height;
  auto image = Tensor<float>::full({3, height, width}, 1.0f);
  const auto set = [&](std::int64_t x, std::int64_t y, std::array<float, 3> rgb) {
    if (x < 0 || x >= width || y < 0 || y >= height) return;
    for (int c = 0; c < 3; ++c) image.data()[(c * height + y) * width + x] = rgb[static_cast<std::size_t>(c)];
  };
  const auto value = [&](double y) { return o.log_y ? std::log10(std::max(y, 1e-30)) : y; };
  double lo = INFINITY, hi = -INFINITY, x_max = 0;
  for (const auto& curve : curves) {
    pixsyn::detail::check(curve.x.size() == curve.y.size(), "line_plot: ", curve.x.size(), " x values for ",
                          curve.y.size(), " y values");
    for (std::size_t k = 0; k < curve.y.size(); ++k) {
      lo = std::min(lo, value(curve.y[k]));
      hi = std::max(hi, value(curve.y[k]));
      x_max = std::max(x_max, curve.x[k]);
    }
  }
  pixsyn::detail::check(std::isfinite(lo) && std::isfinite(hi), "line_plot: no finite point to plot");
  // The grid: decades on a log scale; else 1, 2 or 5 times a power of ten, about five lines.
  double grid = 1;
  if (o.log_y) {
    lo = std::floor(lo);
    hi = std::max(std::ceil(hi), lo + 1);
  } else {
    lo = std::min(lo, 0.0);
    const double span = std::max(hi - lo, 1e-12), unit = std::pow(10.0, std::floor(std::log10(span / 5)));
    grid = span / unit > 25 ? 5 * unit : span / unit > 10 ? 2 * unit : unit;
    lo = std::floor(lo / grid) * grid;
    hi = std::max(std::ceil(hi / grid) * grid, lo + grid);
  }
  const auto to_x = [&](double x) { return margin + (width - 2 * margin) * x / std::max(x_max, 1e-300); };
  const auto to_y = [&](double y) { return height - margin - (height - 2 * margin) * (value(y) - lo) / (hi - lo); };
  for (double line = lo; line <= hi + grid / 2; line += grid)
    for (std::int64_t x = margin; x < width - margin; ++x)
      set(x, std::lround(to_y(o.log_y ? std::pow(10.0, line) : line)), {0.85f, 0.85f, 0.85f});
  for (std::int64_t x = margin; x <= width - margin; ++x) set(x, height - margin, {0, 0, 0});
  for (std::int64_t y = margin; y <= height - margin; ++y) set(margin, y, {0, 0, 0});
  for (const auto& curve : curves) {
    for (std::size_t k = 0; k + 1 < curve.y.size(); ++k) {
      const double x0 = to_x(curve.x[k]), y0 = to_y(curve.y[k]), x1 = to_x(curve.x[k + 1]), y1 = to_y(curve.y[k + 1]);
      const auto steps = static_cast<int>(std::max(std::abs(x1 - x0), std::abs(y1 - y0))) + 1;
      for (int s = 0; s <= steps; ++s) {
        const double t = static_cast<double>(s) / steps;
        const auto x = std::lround(x0 + t * (x1 - x0)), y = std::lround(y0 + t * (y1 - y0));
        for (int d = 0; d < 2; ++d) set(x, y + d, curve.rgb);
      }
    }
    if (curve.dots)
      for (std::size_t k = 0; k < curve.y.size(); ++k)
        for (int dy = -2; dy <= 2; ++dy)
          for (int dx = -2; dx <= 2; ++dx)
            set(std::lround(to_x(curve.x[k])) + dx, std::lround(to_y(curve.y[k])) + dy, curve.rgb);
  }
  return image;
}

}  // namespace pixsyn::cli
