// upfirdn2d on the GPU (see include/pixsyn/backend/cuda/upfirdn2d.hpp). Every output sums its taps in the
// CPU kernel's order (backend/eigen/upfirdn2d.hpp). StyleGAN2's resampling (a 4×4 filter, up 2, down 2, or
// a blur at the same rate, equal on both axes) runs tiled: a block stages its input tile with the halo in
// shared memory once (coalesced), then each thread computes a few outputs from it. Every other geometry
// runs one thread per output, reading global memory per tap.
#include <cstdlib>

#include "bias_leaky_relu.cuh"
#include "fir_tiled.cuh"
#include "index.cuh"
#include "pixsyn/backend/cuda/upfirdn2d.hpp"
#include "pixsyn/backend/fir_taps.hpp"

namespace pixsyn::backend::cuda {

namespace {

using namespace tiled_fir;

template <class I>
struct FirIndex {
  I count;  // outputs
  Divider<I> by_out_x, by_out_y;
  FirAxisTaps<I, Divider<I>> y, x;
  bool flip;
};

template <class T, class I>
__global__ void upfirdn2d_kernel(FirIndex<I> g, T gain, const T* __restrict__ x, const T* __restrict__ f,
                                 BiasLeakyRelu<T> act, T* __restrict__ y) {
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
    y[idx] = finish(gain, acc, act, channel_bias(act, plane % static_cast<decltype(plane)>(act.channels)));
  }
}

template <class T>
void upfirdn2d_impl(const FirGeometry& g, const T* x, const T* f, const BiasLeakyRelu<T>& act, T* y) {
  const std::int64_t n = g.planes * g.y.out * g.x.out;
  if (n == 0) return;
  const bool fits = fits_int32({n, g.planes * g.y.in * g.x.in, axis_extent(g.y), axis_extent(g.x)});
  if (tiled(g, fits)) {
    const PlaneSource<T> source{x, static_cast<std::int32_t>(g.y.in), static_cast<std::int32_t>(g.x.in)};
    if (g.y.up == 2)
      launch_tiled<T, 2, 1>(g, source, f, act, y);
    else if (g.y.down == 2)
      launch_tiled<T, 1, 2>(g, source, f, act, y);
    else
      launch_tiled<T, 1, 1>(g, source, f, act, y);
    check_launch("upfirdn2d");
    return;
  }
  with_index_type(fits, [&](auto index) {
    using I = decltype(index);
    const FirIndex<I> fi{static_cast<I>(n),
                         Divider<I>(g.x.out),
                         Divider<I>(g.y.out),
                         FirAxisTaps<I, Divider<I>>(g.y),
                         FirAxisTaps<I, Divider<I>>(g.x),
                         g.flip_filter};
    upfirdn2d_kernel<<<grid_for(n), block_size, 0, stream()>>>(fi, static_cast<T>(g.gain), x, f, act, y);
  });
  check_launch("upfirdn2d");
}

}  // namespace

void upfirdn2d(const FirGeometry& g, const float* x, const float* f, float* y) {
  upfirdn2d_impl(g, x, f, BiasLeakyRelu<float>{}, y);
}
void upfirdn2d(const FirGeometry& g, const double* x, const double* f, double* y) {
  upfirdn2d_impl(g, x, f, BiasLeakyRelu<double>{}, y);
}
void upfirdn2d(const FirGeometry& g, const float* x, const float* f, const BiasLeakyRelu<float>& act, float* y) {
  upfirdn2d_impl(g, x, f, act, y);
}
void upfirdn2d(const FirGeometry& g, const double* x, const double* f, const BiasLeakyRelu<double>& act, double* y) {
  upfirdn2d_impl(g, x, f, act, y);
}

}  // namespace pixsyn::backend::cuda
