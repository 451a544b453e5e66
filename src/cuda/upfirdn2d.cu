// upfirdn2d on the GPU (see include/pixsyn/backend/cuda/upfirdn2d.hpp). Every output sums its taps in the
// CPU kernel's order (backend/eigen/upfirdn2d.hpp). StyleGAN2's resampling (a 4×4 filter, up 2, down 2, or
// a blur at the same rate, equal on both axes) runs tiled: a block stages its input tile with the halo in
// shared memory once (coalesced), then each thread computes a few outputs from it. Every other geometry
// runs one thread per output, reading global memory per tap.
#include <cstdlib>

#include "bias_leaky_relu.cuh"
#include "index.cuh"
#include "pixsyn/backend/cuda/upfirdn2d.hpp"
#include "pixsyn/backend/fir_taps.hpp"
#include "pixsyn/backend/fir_tile.hpp"

namespace pixsyn::backend::cuda {

namespace {

// The value stored for an output whose taps sum to acc: gain · acc, then the activation if there is one
// (act.bias) with its plane's channel_bias (whose rounded add keeps gain · acc from being contracted into a
// fused multiply-add: the unfused ops round the filtered value when they store it).
template <class T>
__device__ __forceinline__ T finish(T gain, T acc, const BiasLeakyRelu<T>& act, T bias) {
  return activate_if(act, gain * acc, bias);
}

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

// The tiled kernel's block: fir_tile × fir_tile outputs of one plane, fir_tile × tile_rows threads, each
// computing fir_tile / tile_rows consecutive outputs of a column.
constexpr int tile = fir_tile, tile_rows = 8, rows_per_thread = tile / tile_rows, taps = fir_tile_taps;

// What the tiled kernel needs of a geometry (32-bit: the launch checks fits_int32).
struct FirTile {
  std::int32_t in_y, in_x, out_y, out_x, pad_y0, pad_x0;
  Divider<std::int32_t> by_tiles_x, by_tiles_y;  // the block index -> (plane, tile row, tile column)
  bool flip;
};

// The generic kernel's sums exactly: the taps in the same order (tap rows, then columns, ascending), the
// taps on inserted zeros skipped. A tap on the padding adds filter · 0 to the sum, which leaves it
// unchanged (the filter is finite), where the generic kernel skips it.
// For float, registers for 6 resident blocks per SM (instead of 5) without spilling: more loads in flight.
template <class T, int Up, int Down>
__global__ void __launch_bounds__(tile* tile_rows, sizeof(T) == 4 ? 6 : 1)
    upfirdn2d_tiled_kernel(FirTile g, T gain, const T* __restrict__ x, const T* __restrict__ f, BiasLeakyRelu<T> act,
                           T* __restrict__ y) {
  constexpr int n = fir_tile_window<Up, Down>;
  __shared__ T staged[n][n];

  const std::int32_t row_of_tiles = g.by_tiles_x.div(static_cast<std::int32_t>(blockIdx.x));
  const std::int32_t tile_x = static_cast<std::int32_t>(blockIdx.x) - row_of_tiles * g.by_tiles_x.divisor();
  const std::int32_t plane = g.by_tiles_y.div(row_of_tiles), tile_y = row_of_tiles - plane * g.by_tiles_y.divisor();
  const std::int32_t ox0 = tile_x * tile, oy0 = tile_y * tile;
  // The tile's first positions in the upsampled signal (tap 0 of its first output) and their samples.
  const std::int32_t ty0 = oy0 * Down - g.pad_y0, tx0 = ox0 * Down - g.pad_x0;
  const std::int32_t iy0 = fir_floor_div<Up>(ty0), ix0 = fir_floor_div<Up>(tx0);

  T w[taps][taps];  // w[ky][kx]: the filter value tap (ky, kx) applies
#pragma unroll
  for (int ky = 0; ky < taps; ++ky)
#pragma unroll
    for (int kx = 0; kx < taps; ++kx)
      w[ky][kx] = g.flip ? f[ky * taps + kx] : f[(taps - 1 - ky) * taps + (taps - 1 - kx)];

  const T* xp = x + plane * g.in_y * g.in_x;
  for (int r = threadIdx.y; r < n; r += tile_rows) {
    const std::int32_t iy = iy0 + r;
    const bool row_inside = iy >= 0 && iy < g.in_y;
    for (int c = threadIdx.x; c < n; c += tile) {
      const std::int32_t ix = ix0 + c;
      staged[r][c] = row_inside && ix >= 0 && ix < g.in_x ? xp[iy * g.in_x + ix] : T(0);
    }
  }
  __syncthreads();

  const auto lx = static_cast<std::int32_t>(threadIdx.x);
  const std::int32_t mx = ox0 + lx;
  if (mx >= g.out_x) return;
  const std::int32_t ly0 = static_cast<std::int32_t>(threadIdx.y) * rows_per_thread;
  const T bias = channel_bias(act, plane % static_cast<decltype(plane)>(act.channels));
  if constexpr (Up == 1) {
    // Without upsampling every tap reads a staged sample: output ly0 + j reads window rows (ly0 + j) · Down + ky.
    // Each window row is loaded once and added to the outputs that read it, each output's taps still in
    // order (rows ascending, then columns).
    T acc[rows_per_thread] = {};
#pragma unroll
    for (int r = 0; r < (rows_per_thread - 1) * Down + taps; ++r) {
      T v[taps];
#pragma unroll
      for (int kx = 0; kx < taps; ++kx) v[kx] = staged[ly0 * Down + r][fir_tile_sample<Up, Down>(tx0, lx, kx)];
#pragma unroll
      for (int j = 0; j < rows_per_thread; ++j) {
        const int ky = r - j * Down;
        if (ky < 0 || ky >= taps) continue;
#pragma unroll
        for (int kx = 0; kx < taps; ++kx) acc[j] += w[ky][kx] * v[kx];
      }
    }
#pragma unroll
    for (int j = 0; j < rows_per_thread; ++j)
      if (oy0 + ly0 + j < g.out_y)
        y[(plane * g.out_y + oy0 + ly0 + j) * g.out_x + mx] = finish(gain, acc[j], act, bias);
  } else {
#pragma unroll
    for (int j = 0; j < rows_per_thread; ++j) {
      const std::int32_t ly = ly0 + j;
      const std::int32_t my = oy0 + ly;
      if (my >= g.out_y) break;
      T acc = 0;
#pragma unroll
      for (int ky = 0; ky < taps; ++ky) {
        const std::int32_t sy = fir_tile_sample<Up, Down>(ty0, ly, ky);
        if (sy < 0) continue;
#pragma unroll
        for (int kx = 0; kx < taps; ++kx) {
          const std::int32_t sx = fir_tile_sample<Up, Down>(tx0, lx, kx);
          if (sx >= 0) acc += w[ky][kx] * staged[sy][sx];
        }
      }
      y[(plane * g.out_y + my) * g.out_x + mx] = finish(gain, acc, act, bias);
    }
  }
}

// The largest index an axis computes with: output positions, the upsampled input, the padding.
std::int64_t axis_extent(const FirAxis& a) {
  return a.out * a.down + a.taps + a.in * a.up + std::abs(a.pad0) + std::abs(a.pad1) + a.up;
}

// Whether the tiled kernel takes g: the same 4-tap filter and rates on both axes, up or down by at most 2
// (not both), planes at least half a tile wide and tall (smaller ones would leave most threads idle), and
// 32-bit indices.
bool tiled(const FirGeometry& g, bool fits) {
  const auto rate_ok = [](const FirAxis& a) { return a.up <= 2 && a.down <= 2 && (a.up == 1 || a.down == 1); };
  const std::int64_t tiles = g.planes * ((g.y.out + tile - 1) / tile) * ((g.x.out + tile - 1) / tile);
  return fits && g.y.taps == taps && g.x.taps == taps && g.y.up == g.x.up && g.y.down == g.x.down && rate_ok(g.y) &&
         g.y.out >= tile / 2 && g.x.out >= tile / 2 && tiles < (std::int64_t(1) << 31);
}

template <class T, int Up, int Down>
void launch_tiled(const FirGeometry& g, const T* x, const T* f, const BiasLeakyRelu<T>& act, T* y) {
  const std::int64_t tiles_x = (g.x.out + tile - 1) / tile, tiles_y = (g.y.out + tile - 1) / tile;
  const FirTile t{
      static_cast<std::int32_t>(g.y.in),  static_cast<std::int32_t>(g.x.in),   static_cast<std::int32_t>(g.y.out),
      static_cast<std::int32_t>(g.x.out), static_cast<std::int32_t>(g.y.pad0), static_cast<std::int32_t>(g.x.pad0),
      Divider<std::int32_t>(tiles_x),     Divider<std::int32_t>(tiles_y),      g.flip_filter};
  upfirdn2d_tiled_kernel<T, Up, Down>
      <<<static_cast<unsigned>(g.planes * tiles_y * tiles_x), dim3(tile, tile_rows), 0, stream()>>>(
          t, static_cast<T>(g.gain), x, f, act, y);
}

template <class T>
void upfirdn2d_impl(const FirGeometry& g, const T* x, const T* f, const BiasLeakyRelu<T>& act, T* y) {
  const std::int64_t n = g.planes * g.y.out * g.x.out;
  if (n == 0) return;
  const bool fits = fits_int32({n, g.planes * g.y.in * g.x.in, axis_extent(g.y), axis_extent(g.x)});
  if (tiled(g, fits)) {
    if (g.y.up == 2)
      launch_tiled<T, 2, 1>(g, x, f, act, y);
    else if (g.y.down == 2)
      launch_tiled<T, 1, 2>(g, x, f, act, y);
    else
      launch_tiled<T, 1, 1>(g, x, f, act, y);
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
