// ALIS's layer inputs on the GPU (backend/cuda/alis.hpp): one thread per output element (per sine-cosine
// pair for the coordinates), the formulas of backend/alis_geometry.hpp; one warp per row for the mask.
#include <cub/block/block_reduce.cuh>

#include <cmath>
#include <cstdint>
#include <string>

#include "bias_leaky_relu.cuh"
#include "common.cuh"
#include "index.cuh"
#include "pixsyn/backend/cuda/alis.hpp"
#include "pixsyn/core/philox.hpp"

namespace pixsyn::backend::cuda {

namespace {

// The libm functions of T by name (no overload resolution to wonder about; sinf/cosf are the accurate ones).
__device__ inline float sine(float x) { return sinf(x); }
__device__ inline double sine(double x) { return sin(x); }
__device__ inline float cosine(float x) { return cosf(x); }
__device__ inline double cosine(double x) { return cos(x); }
// |x| for the comparisons of largest_magnitude_kernel, which treat NaN as std::abs does (never larger).
template <class T>
__device__ inline T magnitude(T x) {
  return x < T(0) ? -x : x;
}

template <class T>
__global__ void coordinates_kernel(const T* basis, std::int64_t rows, const std::int64_t* delta,
                                   AlisFrameGeometry geometry, T* out, std::int64_t n) {
  const std::int64_t size = geometry.size, width = geometry.patch_width(), plane = size * width;
  PIXSYN_GRID_STRIDE(e, n) {
    const std::int64_t j = e % width, i = e / width % size, k = e / plane % rows, sample = e / (plane * rows);
    const std::int64_t b = sample / geometry.patches, p = sample % geometry.patches;
    const T x = geometry.x<T>(delta[b], p * width + j), y = geometry.y<T>(i);
    const T raw = coordinate_phase(basis[2 * k], basis[2 * k + 1], x, y);
    T* plane_k = out + (sample * 2 * rows + k) * plane + i * width + j;
    plane_k[0] = sine(raw);
    plane_k[rows * plane] = cosine(raw);
  }
}

// The index arithmetic of modulated_coordinates_kernel, in the index type I (index.cuh): the pack of V columns
// (sample, channel, row, columns) of the output (samples, channels + 2 rows, size, width).
template <class I>
struct FuserIndex {
  I packs, channels, rows, total;  // packs: of the whole output
  Divider<I> by_row_packs, by_size, by_total, by_patches;
};

// V consecutive values loaded or stored as one access.
template <class T, int V>
struct alignas(sizeof(T) * V) Values {
  T v[V];
};

// One thread per V consecutive outputs of a row (a 16-byte pack where the width and the buffers allow, else one);
// sin or cos where the coordinate channels lie (as coordinates_kernel), x through its activation (if act.bias)
// where the features lie.
template <class T, class I, int V>
__global__ void modulated_coordinates_kernel(FuserIndex<I> c, const T* __restrict__ x, BiasLeakyRelu<T> act,
                                             const T* __restrict__ basis, const std::int64_t* __restrict__ delta,
                                             AlisFrameGeometry geometry, const T* __restrict__ scale,
                                             T* __restrict__ out) {
  const I row_packs = c.by_row_packs.divisor(), width = row_packs * V, size = c.by_size.divisor();
  PIXSYN_GRID_STRIDE_AS(I, e, c.packs) {
    const I r = c.by_row_packs.div(e), j0 = (e - r * row_packs) * V;
    const I q = c.by_size.div(r), i = r - q * size;
    const I sample = c.by_total.div(q), ch = q - sample * c.total;
    Values<T, V> value;
    if (ch < c.channels) {
      value = *reinterpret_cast<const Values<T, V>*>(x + ((sample * c.channels + ch) * size + i) * width + j0);
      const T bias = channel_bias(act, ch);
#pragma unroll
      for (int v = 0; v < V; ++v) value.v[v] = activate_if(act, value.v[v], bias);
    } else {
      const I m = ch - c.channels, k = m < c.rows ? m : m - c.rows;
      const I b = c.by_patches.div(sample), p = sample - b * c.by_patches.divisor();
      const T y = geometry.y<T>(i);
#pragma unroll
      for (int v = 0; v < V; ++v) {
        const T raw = coordinate_phase(basis[2 * k], basis[2 * k + 1], geometry.x<T>(delta[b], p * width + j0 + v), y);
        value.v[v] = m < c.rows ? sine(raw) : cosine(raw);
      }
    }
    const auto s = *reinterpret_cast<const Values<T, V>*>(scale + q * width + j0);
#pragma unroll
    for (int v = 0; v < V; ++v) value.v[v] *= s.v[v];
    *reinterpret_cast<Values<T, V>*>(out + r * width + j0) = value;
  }
}

// One block per output channel o of w (O, K = I · taps): the sum of its squares, d = 1 / sqrt(sum + eps), and
// out = w[o] · d, in w's layout or transposed to (I, O, taps).
template <class T>
__global__ void demodulated_weight_kernel(const T* __restrict__ w, std::int64_t out_channels, std::int64_t in_channels,
                                          std::int64_t taps, T eps, bool transposed, T* __restrict__ out) {
  using Reduce = cub::BlockReduce<T, block_size>;
  __shared__ typename Reduce::TempStorage storage;
  __shared__ T scale;
  const std::int64_t o = blockIdx.x, k = in_channels * taps;
  const T* row = w + o * k;
  T partial = 0;
  for (std::int64_t e = threadIdx.x; e < k; e += block_size) partial += row[e] * row[e];
  const T total = Reduce(storage).Sum(partial);
  if (threadIdx.x == 0) scale = T(1) / sqrt(total + eps);
  __syncthreads();
  for (std::int64_t e = threadIdx.x; e < k; e += block_size) {
    const std::int64_t i = e / taps, tap = e - i * taps;
    out[transposed ? (i * out_channels + o) * taps + tap : o * k + e] = row[e] * scale;
  }
}

// One thread per output (n = b · g + p, c, j): the three anchors' styles of channel c weighted by column
// p · W / g + j's interpolation weights, in the anchors' order.
template <class T>
__global__ void interpolate_styles_kernel(const T* __restrict__ styles, const T* __restrict__ weights,
                                          std::int32_t channels, std::int32_t patches, Divider<std::int32_t> by_width,
                                          Divider<std::int32_t> by_channels, std::int32_t n, T* __restrict__ out) {
  const std::int32_t width = by_width.divisor();  // a patch's columns
  PIXSYN_GRID_STRIDE_AS(std::int32_t, e, n) {
    const std::int32_t row = by_width.div(e), j = e - row * width;
    const std::int32_t sample = by_channels.div(row), c = row - sample * channels;
    const std::int32_t b = sample / patches, p = sample - b * patches;
    const T* w = weights + (std::int64_t(b) * patches * width + p * width + j) * 3;
    const T* s = styles + std::int64_t(b) * 3 * channels + c;
    out[e] = w[0] * s[0] + w[1] * s[channels] + w[2] * s[2 * channels];
  }
}

template <class T>
__global__ void anchor_weights_kernel(const std::int64_t* delta, AlisFrameGeometry geometry, T* out, std::int64_t n) {
  PIXSYN_GRID_STRIDE(e, n) {
    const std::int64_t s = geometry.strip_column(delta[e / geometry.size], e % geometry.size);
    const bool left = geometry.left_anchor(s) == 0;
    const T t = geometry.right_weight<T>(s);
    out[3 * e] = left ? T(1) - t : T(0);
    out[3 * e + 1] = left ? t : T(1) - t;
    out[3 * e + 2] = left ? T(0) : t;
  }
}

template <class T>
__global__ void seeded_noise_kernel(const std::int64_t* delta, AlisFrameGeometry geometry, std::uint64_t seed,
                                    std::uint64_t layer, const std::int64_t* strip_at, std::uint64_t first_sample,
                                    std::uint64_t sample_stride, T* out, std::int64_t n) {
  const std::int64_t size = geometry.size, width = geometry.patch_width(), strip = *strip_at;
  PIXSYN_GRID_STRIDE(e, n) {
    const std::int64_t j = e % width, i = e / width % size, sample = e / (width * size);
    const std::int64_t b = sample / geometry.patches, p = sample % geometry.patches;
    const std::uint64_t number = geometry.noise_number(strip, delta[b], i, p * width + j);
    const std::uint64_t global_sample = first_sample + sample_stride * static_cast<std::uint64_t>(b);
    out[e] = static_cast<T>(pixsyn::detail::philox_normal(seed, alis_noise_offset(layer, global_sample), number));
  }
}

// The first channel of largest magnitude of a row, found by one warp (every lane returns it): the lanes scan
// channels lane, lane + 32, ... and the warp keeps the first entry of largest magnitude (ties to the smaller
// index), as the CPU's left-to-right scan does; a NaN never wins, and a NaN first entry stays chosen, as there.
template <class T>
__device__ int first_largest(const T* row, std::int64_t channels, int lane) {
  constexpr unsigned all = 0xffffffffu;
  T best = T(-1);  // below every magnitude: nothing seen yet
  int at = 0;
  for (std::int64_t c = lane; c < channels; c += 32)
    if (magnitude(row[c]) > best) best = magnitude(row[c]), at = static_cast<int>(c);
  for (int offset = 16; offset > 0; offset /= 2) {
    const T other = __shfl_down_sync(all, best, offset);
    const int other_at = __shfl_down_sync(all, at, offset);
    if (other > best || (other == best && other_at < at)) best = other, at = other_at;
  }
  at = __shfl_sync(all, at, 0);
  return row[0] != row[0] ? 0 : at;
}

// One warp per row.
template <class T>
__global__ void largest_magnitude_kernel(const T* x, std::int64_t rows, std::int64_t channels, T* mask) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  const std::int64_t warps = std::int64_t(blockDim.x) * gridDim.x / 32;
  for (std::int64_t r = (blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x) / 32; r < rows; r += warps) {
    const int at = first_largest(x + r * channels, channels, lane);
    for (std::int64_t c = lane; c < channels; c += 32) mask[r * channels + c] = c == at ? T(1) : T(0);
  }
}

// One warp per row: the row divided by sum_c abs(x_c) · mask_c, the mask of largest_magnitude_kernel. Every term
// but one is +0 or NaN (|inf| · 0), so the sum is the same in any order: the unfused ops' values exactly.
template <class T>
__global__ void normalize_rows_kernel(const T* x, std::int64_t rows, std::int64_t channels, T* out) {
  constexpr unsigned all = 0xffffffffu;
  const int lane = static_cast<int>(threadIdx.x % 32);
  const std::int64_t warps = std::int64_t(blockDim.x) * gridDim.x / 32;
  for (std::int64_t r = (blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x) / 32; r < rows; r += warps) {
    const T* row = x + r * channels;
    const int at = first_largest(row, channels, lane);
    T largest = 0;
    for (std::int64_t c = lane; c < channels; c += 32) largest += std::abs(row[c]) * (c == at ? T(1) : T(0));
    for (int offset = 16; offset > 0; offset /= 2) largest += __shfl_xor_sync(all, largest, offset);
    for (std::int64_t c = lane; c < channels; c += 32) out[r * channels + c] = row[c] / largest;
  }
}

}  // namespace

template <class T>
void alis_coordinates(const T* basis, std::int64_t rows, const std::int64_t* delta, std::int64_t batch,
                      const AlisFrameGeometry& geometry, T* out) {
  const std::int64_t n = batch * geometry.patches * rows * geometry.size * geometry.patch_width();
  if (n == 0) return;
  coordinates_kernel<<<grid_for(n), block_size, 0, stream()>>>(basis, rows, delta, geometry, out, n);
  check_launch("alis_coordinates");
}

template <class T>
void alis_modulated_coordinates(const T* x, const BiasLeakyRelu<T>& x_activation, std::int64_t channels, const T* basis,
                                std::int64_t rows, const std::int64_t* delta, std::int64_t batch,
                                const AlisFrameGeometry& geometry, const T* scale, T* out) {
  const std::int64_t total = channels + 2 * rows;
  const std::int64_t n = batch * geometry.patches * total * geometry.size * geometry.patch_width();
  if (n == 0) return;
  with_index_type(fits_int32({n}), [&](auto index) {
    using I = decltype(index);
    const auto launch = [&](auto kernel, std::int64_t v) {
      const FuserIndex<I> c{static_cast<I>(n / v),
                            static_cast<I>(channels),
                            static_cast<I>(rows),
                            static_cast<I>(total),
                            Divider<I>(geometry.patch_width() / v),
                            Divider<I>(geometry.size),
                            Divider<I>(total),
                            Divider<I>(geometry.patches)};
      kernel<<<grid_for(n / v), block_size, 0, stream()>>>(c, x, x_activation, basis, delta, geometry, scale, out);
    };
    // 16-byte packs where every row starts on one (the width a multiple of the pack, the buffers aligned).
    constexpr int V = 16 / static_cast<int>(sizeof(T));
    const auto aligned = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; };
    if (geometry.patch_width() % V == 0 && aligned(x) && aligned(scale) && aligned(out))
      launch(modulated_coordinates_kernel<T, I, V>, V);
    else
      launch(modulated_coordinates_kernel<T, I, 1>, 1);
  });
  check_launch("alis_modulated_coordinates");
}

template <class T>
void alis_demodulated_weight(const T* w, std::int64_t out_channels, std::int64_t in_channels, std::int64_t taps, T eps,
                             bool transposed, T* out) {
  if (out_channels == 0 || in_channels * taps == 0) return;
  demodulated_weight_kernel<<<static_cast<unsigned>(out_channels), block_size, 0, stream()>>>(
      w, out_channels, in_channels, taps, eps, transposed, out);
  check_launch("alis_demodulated_weight");
}
template void alis_demodulated_weight<float>(const float*, std::int64_t, std::int64_t, std::int64_t, float, bool,
                                             float*);
template void alis_demodulated_weight<double>(const double*, std::int64_t, std::int64_t, std::int64_t, double, bool,
                                              double*);

template <class T>
void alis_interpolate_styles(const T* styles, std::int64_t batch, std::int64_t channels, const T* weights,
                             std::int64_t width, std::int64_t patches, T* out) {
  const std::int64_t n = batch * channels * width;
  if (n == 0) return;
  if (!fits_int32({n, batch * width * 3, batch * 3 * channels}))
    throw Error("alis_interpolate_styles: " + std::to_string(n) + " outputs need 64-bit indices");
  interpolate_styles_kernel<<<grid_for(n), block_size, 0, stream()>>>(
      styles, weights, static_cast<std::int32_t>(channels), static_cast<std::int32_t>(patches),
      Divider<std::int32_t>(width / patches), Divider<std::int32_t>(channels), static_cast<std::int32_t>(n), out);
  check_launch("alis_interpolate_styles");
}
template void alis_interpolate_styles<float>(const float*, std::int64_t, std::int64_t, const float*, std::int64_t,
                                             std::int64_t, float*);
template void alis_interpolate_styles<double>(const double*, std::int64_t, std::int64_t, const double*, std::int64_t,
                                              std::int64_t, double*);

template <class T>
void alis_anchor_weights(const std::int64_t* delta, std::int64_t batch, const AlisFrameGeometry& geometry, T* out) {
  const std::int64_t n = batch * geometry.size;
  if (n == 0) return;
  anchor_weights_kernel<<<grid_for(n), block_size, 0, stream()>>>(delta, geometry, out, n);
  check_launch("alis_anchor_weights");
}

template <class T>
void alis_seeded_noise(const std::int64_t* delta, std::int64_t batch, const AlisFrameGeometry& geometry,
                       std::uint64_t seed, std::uint64_t layer, const std::int64_t* strip, std::uint64_t first_sample,
                       std::uint64_t sample_stride, T* out) {
  const std::int64_t n = batch * geometry.size * geometry.size;
  if (n == 0) return;
  seeded_noise_kernel<<<grid_for(n), block_size, 0, stream()>>>(delta, geometry, seed, layer, strip, first_sample,
                                                                sample_stride, out, n);
  check_launch("alis_seeded_noise");
}

template <class T>
void alis_normalize_styles(const T* x, std::int64_t rows, std::int64_t channels, T* out) {
  if (rows == 0 || channels == 0) return;
  normalize_rows_kernel<<<grid_for(rows * 32), block_size, 0, stream()>>>(x, rows, channels, out);
  check_launch("alis_normalize_styles");
}
template void alis_normalize_styles<float>(const float*, std::int64_t, std::int64_t, float*);
template void alis_normalize_styles<double>(const double*, std::int64_t, std::int64_t, double*);

template <class T>
void largest_magnitude_mask(const T* x, std::int64_t rows, std::int64_t channels, T* mask) {
  if (rows == 0 || channels == 0) return;
  largest_magnitude_kernel<<<grid_for(rows * 32), block_size, 0, stream()>>>(x, rows, channels, mask);
  check_launch("largest_magnitude_mask");
}

#define PIXSYN_INSTANTIATE(T)                                                                                          \
  template void alis_coordinates<T>(const T*, std::int64_t, const std::int64_t*, std::int64_t,                         \
                                    const AlisFrameGeometry&, T*);                                                     \
  template void alis_modulated_coordinates<T>(const T*, const BiasLeakyRelu<T>&, std::int64_t, const T*, std::int64_t, \
                                              const std::int64_t*, std::int64_t, const AlisFrameGeometry&, const T*,   \
                                              T*);                                                                     \
  template void alis_anchor_weights<T>(const std::int64_t*, std::int64_t, const AlisFrameGeometry&, T*);               \
  template void alis_seeded_noise<T>(const std::int64_t*, std::int64_t, const AlisFrameGeometry&, std::uint64_t,       \
                                     std::uint64_t, const std::int64_t*, std::uint64_t, std::uint64_t, T*);            \
  template void largest_magnitude_mask<T>(const T*, std::int64_t, std::int64_t, T*);
PIXSYN_INSTANTIATE(float)
PIXSYN_INSTANTIATE(double)
#undef PIXSYN_INSTANTIATE

}  // namespace pixsyn::backend::cuda
