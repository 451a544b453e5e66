#pragma once
// upfirdn2d on the CPU: every output pixel sums the filter taps that land on input samples (the inserted
// zeros and the padding are skipped, not multiplied).
#include <cstdint>
#include <vector>

#include "pixsyn/backend/eigen/elementwise.hpp"
#include "pixsyn/backend/fir_geometry.hpp"

namespace pixsyn::backend::eigen {

namespace detail {

// For each output index of an axis, the (tap, input index) pairs that read input samples.
struct FirTaps {
  std::vector<std::int64_t> begin;  // out + 1 offsets into tap/source
  std::vector<std::int64_t> tap, source;
};

inline FirTaps fir_taps(const FirAxis& a, bool flip) {
  FirTaps t;
  t.begin.push_back(0);
  for (std::int64_t m = 0; m < a.out; ++m) {
    for (std::int64_t k = 0; k < a.taps; ++k) {
      const std::int64_t i = fir_source(a, m, k);
      if (i < 0) continue;
      t.tap.push_back(flip ? k : a.taps - 1 - k);
      t.source.push_back(i);
    }
    t.begin.push_back(static_cast<std::int64_t>(t.tap.size()));
  }
  return t;
}

}  // namespace detail

// y (planes, out_h, out_w) = upfirdn2d(x (planes, in_h, in_w), f (taps_y, taps_x)).
template <class T>
void upfirdn2d(const FirGeometry& g, const T* x, const T* f, T* y) {
  const auto ty = detail::fir_taps(g.y, g.flip_filter), tx = detail::fir_taps(g.x, g.flip_filter);
  const T gain = static_cast<T>(g.gain);
  const std::int64_t rows = g.planes * g.y.out;
#pragma omp parallel for if (rows * g.x.out * g.y.taps * g.x.taps > parallel_grain)
  for (std::int64_t row = 0; row < rows; ++row) {
    const std::int64_t plane = row / g.y.out, my = row % g.y.out;
    const T* xp = x + plane * g.y.in * g.x.in;
    T* out = y + row * g.x.out;
    for (std::int64_t mx = 0; mx < g.x.out; ++mx) {
      T acc = 0;
      for (std::int64_t a = ty.begin[my]; a < ty.begin[my + 1]; ++a) {
        const T* xrow = xp + ty.source[a] * g.x.in;
        const T* frow = f + ty.tap[a] * g.x.taps;
        for (std::int64_t b = tx.begin[mx]; b < tx.begin[mx + 1]; ++b) acc += frow[tx.tap[b]] * xrow[tx.source[b]];
      }
      out[mx] = gain * acc;
    }
  }
}

}  // namespace pixsyn::backend::eigen
