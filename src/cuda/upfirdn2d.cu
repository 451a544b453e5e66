// upfirdn2d on the GPU (see include/pixsyn/backend/cuda/upfirdn2d.hpp): one thread per output sample, the
// taps visited in the CPU kernel's order (backend/eigen/upfirdn2d.hpp).
#include <cstdlib>

#include "index.cuh"
#include "pixsyn/backend/cuda/upfirdn2d.hpp"
#include "pixsyn/backend/fir_taps.hpp"

namespace pixsyn::backend::cuda {

namespace {

template <class I>
struct FirIndex {
  I count;  // outputs
  Divider<I> by_out_x, by_out_y;
  FirAxisTaps<I, Divider<I>> y, x;
  bool flip;
};

template <class T, class I>
__global__ void upfirdn2d_kernel(FirIndex<I> g, T gain, const T* __restrict__ x, const T* __restrict__ f,
                                 T* __restrict__ y) {
  PIXSYN_GRID_STRIDE_AS(I, idx, g.count) {
    const I row = g.by_out_x.div(idx), mx = idx - row * g.by_out_x.divisor();
    const I plane = g.by_out_y.div(row), my = row - plane * g.by_out_y.divisor();
    const T* xp = x + plane * g.y.in * g.x.in;
    I ky, iy, kx0, ix0;
    g.y.first(my, ky, iy);
    g.x.first(mx, kx0, ix0);
    T acc = 0;
    for (; ky < g.y.taps; ky += g.y.up, ++iy) {
      if (iy < 0 || iy >= g.y.in) continue;
      const T* frow = f + (g.flip ? ky : g.y.taps - 1 - ky) * g.x.taps;
      const T* xrow = xp + iy * g.x.in;
      for (I kx = kx0, ix = ix0; kx < g.x.taps; kx += g.x.up, ++ix)
        if (ix >= 0 && ix < g.x.in) acc += frow[g.flip ? kx : g.x.taps - 1 - kx] * xrow[ix];
    }
    y[idx] = gain * acc;
  }
}

// The largest index an axis computes with: output positions, the upsampled input, the padding.
std::int64_t axis_extent(const FirAxis& a) {
  return a.out * a.down + a.taps + a.in * a.up + std::abs(a.pad0) + std::abs(a.pad1) + a.up;
}

template <class T>
void upfirdn2d_impl(const FirGeometry& g, const T* x, const T* f, T* y) {
  const std::int64_t n = g.planes * g.y.out * g.x.out;
  if (n == 0) return;
  const bool fits = fits_int32({n, g.planes * g.y.in * g.x.in, axis_extent(g.y), axis_extent(g.x)});
  with_index_type(fits, [&](auto index) {
    using I = decltype(index);
    const FirIndex<I> fi{static_cast<I>(n),
                         Divider<I>(g.x.out),
                         Divider<I>(g.y.out),
                         FirAxisTaps<I, Divider<I>>(g.y),
                         FirAxisTaps<I, Divider<I>>(g.x),
                         g.flip_filter};
    upfirdn2d_kernel<<<grid_for(n), block_size, 0, stream()>>>(fi, static_cast<T>(g.gain), x, f, y);
  });
  check_launch("upfirdn2d");
}

}  // namespace

void upfirdn2d(const FirGeometry& g, const float* x, const float* f, float* y) { upfirdn2d_impl(g, x, f, y); }
void upfirdn2d(const FirGeometry& g, const double* x, const double* f, double* y) { upfirdn2d_impl(g, x, f, y); }

}  // namespace pixsyn::backend::cuda
