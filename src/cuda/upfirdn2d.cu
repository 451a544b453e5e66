// upfirdn2d on the GPU (see include/pixsyn/backend/cuda/upfirdn2d.hpp): one thread per output sample, the
// taps visited in the CPU kernel's order (backend/eigen/upfirdn2d.hpp).
#include "common.cuh"
#include "pixsyn/backend/cuda/upfirdn2d.hpp"

namespace pixsyn::backend::cuda {

namespace {

template <class T>
__global__ void upfirdn2d_kernel(FirGeometry g, const T* x, const T* f, T* y) {
  PIXSYN_GRID_STRIDE(idx, g.planes * g.y.out * g.x.out) {
    const std::int64_t mx = idx % g.x.out, my = idx / g.x.out % g.y.out, plane = idx / (g.x.out * g.y.out);
    const T* xp = x + plane * g.y.in * g.x.in;
    T acc = 0;
    for (std::int64_t ky = 0; ky < g.y.taps; ++ky) {
      const std::int64_t iy = fir_source(g.y, my, ky);
      if (iy < 0) continue;
      const T* frow = f + (g.flip_filter ? ky : g.y.taps - 1 - ky) * g.x.taps;
      for (std::int64_t kx = 0; kx < g.x.taps; ++kx) {
        const std::int64_t ix = fir_source(g.x, mx, kx);
        if (ix >= 0) acc += frow[g.flip_filter ? kx : g.x.taps - 1 - kx] * xp[iy * g.x.in + ix];
      }
    }
    y[idx] = static_cast<T>(g.gain) * acc;
  }
}

template <class T>
void upfirdn2d_impl(const FirGeometry& g, const T* x, const T* f, T* y) {
  const std::int64_t n = g.planes * g.y.out * g.x.out;
  if (n == 0) return;
  upfirdn2d_kernel<<<grid_for(n), block_size, 0, stream()>>>(g, x, f, y);
  check_launch("upfirdn2d");
}

}  // namespace

void upfirdn2d(const FirGeometry& g, const float* x, const float* f, float* y) { upfirdn2d_impl(g, x, f, y); }
void upfirdn2d(const FirGeometry& g, const double* x, const double* f, double* y) { upfirdn2d_impl(g, x, f, y); }

}  // namespace pixsyn::backend::cuda
