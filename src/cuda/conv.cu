// 2-D convolutions on the GPU (see include/pixsyn/backend/cuda/conv.hpp): im2col into a workspace and
// cuBLAS strided-batched GEMMs, the same factorisation as the CPU path (backend/eigen/conv.hpp). The
// transposed convolution's col2im is a gather (every input pixel sums its own taps), so it needs no atomics
// and is deterministic.
#include <cuda_bf16.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "bias_leaky_relu.cuh"
#include "common.cuh"
#include "fast_render.cuh"
#include "gemm.cuh"
#include "index.cuh"
#include "pixsyn/backend/cuda/conv.hpp"

namespace pixsyn::backend::cuda {

namespace {

using bf16 = __nv_bfloat16;

// im2col elements per launch, about 256 MB of fp32; larger problems run in more launches.
constexpr std::int64_t workspace_elements = std::int64_t(1) << 26;

// One launch: samples [b0, b0 + count) at output rows [r0, r0 + rows) (all rows, or one sample's chunk).
struct Slice {
  std::int64_t b0, count, r0, rows;
  __host__ __device__ std::int64_t pixels(const ConvGeometry& g) const { return rows * g.out_width; }
};

// Whole samples, as many per launch as the workspace holds; a sample too large for it in chunks of rows.
std::vector<Slice> slices(const ConvGeometry& g) {
  std::vector<Slice> out;
  const std::int64_t per_row = std::max<std::int64_t>(1, g.depth() * g.out_width);
  const std::int64_t per_sample = per_row * g.out_height;
  if (per_sample <= workspace_elements) {
    const std::int64_t step = std::max<std::int64_t>(1, workspace_elements / std::max<std::int64_t>(per_sample, 1));
    for (std::int64_t b = 0; b < g.batch; b += step) out.push_back({b, std::min(step, g.batch - b), 0, g.out_height});
  } else {
    const std::int64_t step = std::max<std::int64_t>(1, workspace_elements / per_row);
    for (std::int64_t b = 0; b < g.batch; ++b)
      for (std::int64_t r = 0; r < g.out_height; r += step) out.push_back({b, 1, r, std::min(step, g.out_height - r)});
  }
  return out;
}

template <class To, class From>
__device__ __forceinline__ To convert(From v) {
  if constexpr (std::is_same_v<To, bf16>)
    return __float2bfloat16_rn(static_cast<float>(v));
  else
    return static_cast<To>(v);
}

// One slice's index arithmetic, prepared on the host in the launch's index type I (index.cuh).
template <class I>
struct ConvIndex {
  I count, in_channels, height, width, out_channels, out_width, kernel_h, kernel_w, stride, padding;
  I r0, rows, n, k;  // the slice's first output row, its rows, its output pixels per sample, the GEMM depth
  Divider<I> by_n, by_k, by_taps, by_kernel_w, by_out_width, by_width, by_in_channels, by_out_channels, by_stride;

  ConvIndex(const ConvGeometry& g, const Slice& s)
      : count(I(s.count)),
        in_channels(I(g.in_channels)),
        height(I(g.height)),
        width(I(g.width)),
        out_channels(I(g.out_channels)),
        out_width(I(g.out_width)),
        kernel_h(I(g.kernel_h)),
        kernel_w(I(g.kernel_w)),
        stride(I(g.stride)),
        padding(I(g.padding)),
        r0(I(s.r0)),
        rows(I(s.rows)),
        n(I(s.pixels(g))),
        k(I(g.depth())),
        by_n(nonzero(s.pixels(g))),
        by_k(nonzero(g.depth())),
        by_taps(nonzero(g.kernel_h * g.kernel_w)),
        by_kernel_w(nonzero(g.kernel_w)),
        by_out_width(nonzero(g.out_width)),
        by_width(nonzero(g.width)),
        by_in_channels(nonzero(g.in_channels)),
        by_out_channels(nonzero(g.out_channels)),
        by_stride(nonzero(g.stride)) {}

  // A zero extent leaves its kernels without elements, so its divider is never used.
  static std::int64_t nonzero(std::int64_t d) { return std::max<std::int64_t>(d, 1); }
};

// Whether a slice's kernels fit 32-bit indices: the im2col workspace, the slice's x and dy, the positions.
bool slice_fits_int32(const ConvGeometry& g, const Slice& s) {
  return fits_int32({s.count * std::max(g.depth(), g.out_channels) * s.pixels(g),
                     s.count * g.in_channels * g.in_plane(), s.count * g.out_channels * g.out_plane(),
                     (g.out_height + 1) * g.stride + g.kernel_h + g.padding,
                     (g.out_width + 1) * g.stride + g.kernel_w + g.padding, g.height + g.padding, g.width + g.padding});
}

// col (count, K, n) = the inputs under the slice's output pixels, zero where a tap reads the padding; x is
// the slice's first sample. Sample b's tap row q lands at col + b · sample_stride + q · tap_stride, which
// also writes the layout (K, count, n) of the weight gradient's single GEMM. Inference fusions: x is read through
// an activation (act.bias set: bias_leaky_relu along the channels) and then times a column scale (count, I, W)
// (unless nullptr), x'[b, i, iy, ix] = act(x[b, i, iy, ix]) · scale[b, i, ix]: the values the elementwise ops
// would write (the padding stays 0).
template <class T, class C, class I>
__global__ void im2col_kernel(ConvIndex<I> c, const T* __restrict__ x, BiasLeakyRelu<T> act,
                              const T* __restrict__ scale, C* __restrict__ col, I sample_stride, I tap_stride) {
  PIXSYN_GRID_STRIDE_AS(I, idx, c.count * c.k * c.n) {
    const I row = c.by_n.div(idx), j = idx - row * c.n;
    const I b = c.by_k.div(row), q = row - b * c.k;
    const I i = c.by_taps.div(q), tap = q - i * (c.kernel_h * c.kernel_w);
    const I ky = c.by_kernel_w.div(tap), kx = tap - ky * c.kernel_w;
    const I oy = c.by_out_width.div(j), ox = j - oy * c.out_width;
    const I iy = static_cast<I>(conv_source(c.r0 + oy, ky, c.stride, c.padding));
    const I ix = static_cast<I>(conv_source(ox, kx, c.stride, c.padding));
    const bool inside = iy >= 0 && iy < c.height && ix >= 0 && ix < c.width;
    T v = T(0);
    if (inside) {
      v = activate_if(act, x[((b * c.in_channels + i) * c.height + iy) * c.width + ix], channel_bias(act, i));
      if (scale) v *= scale[(b * c.in_channels + i) * c.width + ix];
    }
    col[b * sample_stride + q * tap_stride + j] = convert<C>(v);
  }
}

// V consecutive elements stored as one access: the packed im2col and dy_rows give a thread the outputs of 16
// bytes of input (a wider span per thread would spread a warp's reads over more cache lines).
template <class C, int V>
struct alignas(sizeof(C) * V) Pack {
  C v[V];
};
template <class T>
constexpr int pack_size = 16 / static_cast<int>(sizeof(T));

// im2col_kernel with a thread per V consecutive output pixels of a row (the output width a multiple of V,
// col aligned to the pack, 32-bit indices): one index decomposition and one vector store per V entries.
template <class T, class C, int V>
__global__ void im2col_packed_kernel(ConvIndex<std::int32_t> c, Divider<std::int32_t> by_packs,
                                     Divider<std::int32_t> by_rows, const T* __restrict__ x, BiasLeakyRelu<T> act,
                                     const T* __restrict__ scale, C* __restrict__ col, std::int32_t sample_stride,
                                     std::int32_t tap_stride) {
  using I = std::int32_t;
  const I packs = by_packs.divisor();
  PIXSYN_GRID_STRIDE_AS(I, idx, c.count * c.k * c.rows * packs) {
    const I r = by_packs.div(idx), ox0 = (idx - r * packs) * V;
    const I row = by_rows.div(r), oy = r - row * c.rows;
    const I b = c.by_k.div(row), q = row - b * c.k;
    const I i = c.by_taps.div(q), tap = q - i * (c.kernel_h * c.kernel_w);
    const I ky = c.by_kernel_w.div(tap), kx = tap - ky * c.kernel_w;
    const I iy = static_cast<I>(conv_source(c.r0 + oy, ky, c.stride, c.padding));
    const bool row_inside = iy >= 0 && iy < c.height;
    const T* xrow = x + ((b * c.in_channels + i) * c.height + (row_inside ? iy : 0)) * c.width;
    const T* srow = scale ? scale + (b * c.in_channels + i) * c.width : nullptr;
    const T bias = channel_bias(act, i);
    Pack<C, V> out;
#pragma unroll
    for (int v = 0; v < V; ++v) {
      const I ix = static_cast<I>(conv_source(ox0 + v, kx, c.stride, c.padding));
      const bool inside = row_inside && ix >= 0 && ix < c.width;
      T value = T(0);
      if (inside) {
        value = activate_if(act, xrow[ix], bias);
        if (srow) value *= srow[ix];
      }
      out.v[v] = convert<C>(value);
    }
    *reinterpret_cast<Pack<C, V>*>(col + b * sample_stride + q * tap_stride + oy * c.out_width + ox0) = out;
  }
}

// im2col_packed_kernel for a K × K kernel with stride S: a thread reads the input window of its V pixels
// once per kernel row and writes all K · K taps' packs (a thread per pack of (sample, channel, output row)),
// instead of reading the input once per tap.
template <class T, class C, int V, int K, int S>
__global__ void im2col_window_kernel(ConvIndex<std::int32_t> c, Divider<std::int32_t> by_packs,
                                     Divider<std::int32_t> by_rows, const T* __restrict__ x, BiasLeakyRelu<T> act,
                                     const T* __restrict__ scale, C* __restrict__ col, std::int32_t sample_stride,
                                     std::int32_t tap_stride) {
  using I = std::int32_t;
  constexpr int span = (V - 1) * S + K;  // the input columns of V outputs
  const I packs = by_packs.divisor();
  PIXSYN_GRID_STRIDE_AS(I, idx, c.count * c.in_channels * c.rows * packs) {
    const I r = by_packs.div(idx), ox0 = (idx - r * packs) * V;
    const I row = by_rows.div(r), oy = r - row * c.rows;
    const I b = c.by_in_channels.div(row), i = row - b * c.in_channels;
    const I ix0 = static_cast<I>(conv_source(ox0, 0, S, c.padding));
    const T* plane = x + (b * c.in_channels + i) * c.height * c.width;
    C* out = col + b * sample_stride + i * (K * K) * tap_stride + oy * c.out_width + ox0;
    const T bias = channel_bias(act, i);
    // The window's column scales, the same for every kernel row (1 where there is no scale or no column).
    T column_scale[span];
#pragma unroll
    for (int u = 0; u < span; ++u)
      column_scale[u] =
          scale && ix0 + u >= 0 && ix0 + u < c.width ? scale[(b * c.in_channels + i) * c.width + ix0 + u] : T(1);
#pragma unroll
    for (int ky = 0; ky < K; ++ky) {
      const I iy = static_cast<I>(conv_source(c.r0 + oy, ky, S, c.padding));
      const bool row_inside = iy >= 0 && iy < c.height;
      const T* xrow = plane + (row_inside ? iy : 0) * c.width;
      T window[span];
#pragma unroll
      for (int u = 0; u < span; ++u) {
        const bool inside = row_inside && ix0 + u >= 0 && ix0 + u < c.width;
        window[u] = inside ? activate_if(act, xrow[ix0 + u], bias) * column_scale[u] : T(0);  // v · 1 is v, bit for bit
      }
#pragma unroll
      for (int kx = 0; kx < K; ++kx) {
        Pack<C, V> taps;
#pragma unroll
        for (int v = 0; v < V; ++v) taps.v[v] = convert<C>(window[v * S + kx]);
        *reinterpret_cast<Pack<C, V>*>(out + (ky * K + kx) * tap_stride) = taps;
      }
    }
  }
}

// dx (slice's samples, I, H, W) += the col entries (count, K, n) that came from each input pixel; dx is
// the slice's first sample. Only the input rows [y0, y1) that the slice's output rows read are visited.
// Input row iy is read by the taps ky = (iy + padding) mod stride + j · stride, from output row
// (iy + padding) / stride - j (likewise for columns), so no tap needs a division. A thread sums Phases
// neighbouring pixels (the stride's phases: every thread of a warp then visits the same taps) in each of
// col2im_rows consecutive rows (fewer at the ends): one index decomposition for them, while the threads of a
// warp still read and write neighbouring pixels. Where the slice alone writes these pixels (!accumulate),
// the sums are stored: the same values as 0 + sum, since a sum that starts at +0 is never -0.
constexpr int col2im_rows = 4;

template <class T, class I, int Phases>
__global__ void col2im_kernel(ConvIndex<I> c, I y0, I y1, Divider<I> by_groups, Divider<I> by_runs, bool accumulate,
                              const T* __restrict__ col, T* __restrict__ dx) {
  const I groups = by_groups.divisor(), runs = by_runs.divisor();  // runs of Phases pixels per row
  PIXSYN_GRID_STRIDE_AS(I, idx, c.count * c.in_channels * groups * runs) {
    const I r = by_runs.div(idx), ix0 = (idx - r * runs) * Phases;
    const I p = by_groups.div(r), iy0 = y0 + (r - p * groups) * col2im_rows;
    const I b = c.by_in_channels.div(p), i = p - b * c.in_channels;
    const I tx0 = ix0 + c.padding, qx0 = c.by_stride.div(tx0), kx00 = tx0 - qx0 * c.stride;
    const I ty0 = iy0 + c.padding;
    I qy = c.by_stride.div(ty0), ky0 = ty0 - qy * c.stride;
    const T* channel = col + (b * c.k + i * c.kernel_h * c.kernel_w) * c.n;
    T* out = dx + ((b * c.in_channels + i) * c.height + iy0) * c.width;
    for (I iy = iy0; iy < iy0 + col2im_rows && iy < y1; ++iy, out += c.width) {
      I qx = qx0, kx0 = kx00;
#pragma unroll
      for (int e = 0; e < Phases; ++e) {
        const I ix = ix0 + e;
        if (ix >= c.width) break;
        T acc = 0;
        for (I ky = ky0, oy = qy; ky < c.kernel_h; ky += c.stride, --oy) {
          if (oy < c.r0 || oy >= c.r0 + c.rows) continue;
          const T* taps = channel + ky * c.kernel_w * c.n + (oy - c.r0) * c.out_width;
          for (I kx = kx0, ox = qx; kx < c.kernel_w; kx += c.stride, --ox)
            if (ox >= 0 && ox < c.out_width) acc += taps[kx * c.n + ox];
        }
        out[ix] = accumulate ? out[ix] + acc : acc;
        // The next pixel's first tap column and output column, without a division.
        if (++kx0 == c.stride) kx0 = 0, ++qx;
      }
      // The next row's first tap row and output row, likewise.
      if (++ky0 == c.stride) ky0 = 0, ++qy;
    }
  }
}

// out = dy's slice rows, sample b's channel o at out + b · sample_stride + o · channel_stride (n each): the
// bf16 GEMM operand (count, O, n), or the weight gradient's (O, count, n). dy is the slice's first sample.
template <class T, class C, class I>
__global__ void dy_rows_kernel(ConvIndex<I> c, I out_plane, const T* __restrict__ dy, C* __restrict__ out,
                               I sample_stride, I channel_stride) {
  PIXSYN_GRID_STRIDE_AS(I, idx, c.count * c.out_channels * c.n) {
    const I row = c.by_n.div(idx), j = idx - row * c.n;
    const I b = c.by_out_channels.div(row), o = row - b * c.out_channels;
    out[b * sample_stride + o * channel_stride + j] =
        convert<C>(dy[(b * c.out_channels + o) * out_plane + c.r0 * c.out_width + j]);
  }
}

// dy_rows_kernel with a thread per V consecutive entries (n, the output plane and the slice's first row a
// multiple of V, dy and out aligned to their packs, 32-bit indices).
template <class T, class C, int V>
__global__ void dy_rows_packed_kernel(ConvIndex<std::int32_t> c, Divider<std::int32_t> by_packs, std::int32_t out_plane,
                                      const T* __restrict__ dy, C* __restrict__ out, std::int32_t sample_stride,
                                      std::int32_t channel_stride) {
  using I = std::int32_t;
  const I packs = by_packs.divisor();
  PIXSYN_GRID_STRIDE_AS(I, idx, c.count * c.out_channels * packs) {
    const I row = by_packs.div(idx), j = (idx - row * packs) * V;
    const I b = c.by_out_channels.div(row), o = row - b * c.out_channels;
    const auto in =
        *reinterpret_cast<const Pack<T, V>*>(dy + (b * c.out_channels + o) * out_plane + c.r0 * c.out_width + j);
    Pack<C, V> converted;
#pragma unroll
    for (int v = 0; v < V; ++v) converted.v[v] = convert<C>(in.v[v]);
    *reinterpret_cast<Pack<C, V>*>(out + b * sample_stride + o * channel_stride + j) = converted;
  }
}

__global__ void to_bf16_kernel(std::int64_t count, const float* in, bf16* out) {
  PIXSYN_GRID_STRIDE(i, count) { out[i] = __float2bfloat16_rn(in[i]); }
}

template <class T>
constexpr cudaDataType_t data_type = std::is_same_v<T, float> ? CUDA_R_32F : CUDA_R_64F;
template <class T>
constexpr cublasComputeType_t compute_type = std::is_same_v<T, float> ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_64F;

std::int64_t weight_elements(const ConvGeometry& g) {
  return (g.per_sample ? g.batch : 1) * g.out_channels * g.depth();
}

// The weights as the GEMM reads them: themselves, or a bf16 copy.
template <class T>
Buffer bf16_weights(const ConvGeometry& g, const T* w, bool half) {
  if constexpr (std::is_same_v<T, float>) {
    if (half) {
      Buffer out(sizeof(bf16) * static_cast<std::size_t>(weight_elements(g)));
      to_bf16_kernel<<<grid_for(weight_elements(g)), block_size, 0, stream()>>>(weight_elements(g), w, out.get<bf16>());
      check_launch("conv2d");
      return out;
    }
  }
  return Buffer();
}

// A 1×1 convolution with stride 1 and no padding needs no im2col: x's samples are colᵀ (n, K) as they are,
// their columns a plane apart.
bool is_pointwise(const ConvGeometry& g) {
  return g.kernel_h == 1 && g.kernel_w == 1 && g.stride == 1 && g.padding == 0;
}

// Whether p is aligned to `bytes`.
bool aligned(const void* p, std::size_t bytes) { return reinterpret_cast<std::uintptr_t>(p) % bytes == 0; }

// im2col of a slice into col: (count, K, n), or (K, count, n) when by_tap; x (and the column scale
// (B, I, W), or nullptr) of the whole batch.
template <class T, class C>
void im2col(const ConvGeometry& g, const Slice& s, const T* x, const BiasLeakyRelu<T>& act, const T* scale, C* col,
            bool by_tap, const char* op) {
  const std::int64_t n = s.pixels(g), k = g.depth();
  constexpr int V = pack_size<T>;
  x += s.b0 * g.in_channels * g.in_plane();
  if (scale) scale += s.b0 * g.in_channels * g.width;
  // n and both strides are multiples of the output width, so col's rows stay aligned.
  if (g.out_width % V == 0 && aligned(col, sizeof(Pack<C, V>)) && slice_fits_int32(g, s)) {
    using I = std::int32_t;
    const std::int64_t packs = g.out_width / V;
    // 3 × 3 kernels with stride 1 or 2 (the generators' and discriminators' convolutions): one window per row.
    if (g.kernel_h == 3 && g.kernel_w == 3 && (g.stride == 1 || g.stride == 2)) {
      const auto launch = [&](auto kernel) {
        kernel<<<grid_for(s.count * g.in_channels * s.rows * packs), block_size, 0, stream()>>>(
            ConvIndex<I>(g, s), Divider<I>(packs), Divider<I>(s.rows), x, act, scale, col,
            static_cast<I>(by_tap ? n : k * n), static_cast<I>(by_tap ? s.count * n : n));
      };
      if (g.stride == 1)
        launch(im2col_window_kernel<T, C, V, 3, 1>);
      else
        launch(im2col_window_kernel<T, C, V, 3, 2>);
      check_launch(op);
      return;
    }
    im2col_packed_kernel<T, C, V><<<grid_for(s.count * k * s.rows * packs), block_size, 0, stream()>>>(
        ConvIndex<I>(g, s), Divider<I>(packs), Divider<I>(s.rows), x, act, scale, col,
        static_cast<I>(by_tap ? n : k * n), static_cast<I>(by_tap ? s.count * n : n));
    check_launch(op);
    return;
  }
  with_index_type(slice_fits_int32(g, s), [&](auto index) {
    using I = decltype(index);
    im2col_kernel<<<grid_for(s.count * k * n), block_size, 0, stream()>>>(ConvIndex<I>(g, s), x, act, scale, col,
                                                                          static_cast<I>(by_tap ? n : k * n),
                                                                          static_cast<I>(by_tap ? s.count * n : n));
  });
  check_launch(op);
}

// dy's slice rows into out: (count, O, n), or (O, count, n) when by_channel.
template <class T, class C>
void dy_rows(const ConvGeometry& g, const Slice& s, const T* dy, C* out, bool by_channel, const char* op) {
  const std::int64_t n = s.pixels(g), o = g.out_channels;
  constexpr int V = pack_size<T>;
  const T* first = dy + s.b0 * o * g.out_plane();
  // Every row of dy's slice starts a whole number of packs after `first`, every row of out after `out`.
  if (g.out_width % V == 0 && g.out_plane() % V == 0 && aligned(first, sizeof(Pack<T, V>)) &&
      aligned(out, sizeof(Pack<C, V>)) && slice_fits_int32(g, s)) {
    using I = std::int32_t;
    dy_rows_packed_kernel<T, C, V><<<grid_for(s.count * o * (n / V)), block_size, 0, stream()>>>(
        ConvIndex<I>(g, s), Divider<I>(n / V), static_cast<I>(g.out_plane()), first, out,
        static_cast<I>(by_channel ? n : o * n), static_cast<I>(by_channel ? s.count * n : n));
    check_launch(op);
    return;
  }
  with_index_type(slice_fits_int32(g, s), [&](auto index) {
    using I = decltype(index);
    dy_rows_kernel<<<grid_for(s.count * o * n), block_size, 0, stream()>>>(
        ConvIndex<I>(g, s), static_cast<I>(g.out_plane()), dy + s.b0 * o * g.out_plane(), out,
        static_cast<I>(by_channel ? n : o * n), static_cast<I>(by_channel ? s.count * n : n));
  });
  check_launch(op);
}

// The GEMM operand colᵀ (n, K) of a slice's samples: x itself for an unscaled pointwise convolution in T,
// else an im2col workspace (in bf16 when half).
template <class T>
struct ColOperand {
  Buffer workspace;
  const void* data = nullptr;
  std::int64_t ld = 0, stride = 0;

  ColOperand(const ConvGeometry& g, const Slice& s, const T* x, const BiasLeakyRelu<T>& act, const T* scale, bool half,
             const char* op) {
    const std::int64_t n = s.pixels(g), k = g.depth();
    if (is_pointwise(g) && !half && !scale && !act.bias) {
      data = x + s.b0 * g.in_channels * g.in_plane() + s.r0 * g.width;
      ld = g.in_plane(), stride = g.in_channels * g.in_plane();
      return;
    }
    workspace = Buffer((half ? sizeof(bf16) : sizeof(T)) * static_cast<std::size_t>(s.count * k * n));
    if (half)
      im2col(g, s, x, act, scale, workspace.get<bf16>(), false, op);
    else
      im2col(g, s, x, act, scale, workspace.get<T>(), false, op);
    data = workspace.get(), ld = n, stride = k * n;
  }
};

template <class T>
void conv2d_impl(const ConvGeometry& g, const T* x, const BiasLeakyRelu<T>& act, const T* scale, const T* w, T* y,
                 bool half) {
  const std::int64_t k = g.depth(), plane = g.out_plane();
  if (g.batch == 0 || g.out_channels == 0 || plane == 0) return;
  if (k == 0) {
    check_cuda(cudaMemsetAsync(y, 0, sizeof(T) * g.batch * g.out_channels * plane, stream()), "conv2d",
               "cudaMemsetAsync");
    return;
  }
  const Buffer w16 = bf16_weights(g, w, half);
  for (const Slice& s : slices(g)) {
    const ColOperand<T> col(g, s, x, act, scale, half, "conv2d");
    // Column-major per sample: yᵀ (n, O) = colᵀ (n, K) · Wᵀ (K, O); y's rows are `plane` apart.
    const std::int64_t w_stride = g.weight_stride();
    const void* wp = half ? static_cast<const void*>(w16.get<bf16>() + s.b0 * w_stride)
                          : static_cast<const void*>(w + s.b0 * w_stride);
    const cudaDataType_t in_type = half ? CUDA_R_16BF : data_type<T>;
    gemm_ex(false, false, s.pixels(g), g.out_channels, k, col.data, in_type, col.ld, col.stride, wp, in_type, k,
            w_stride, 0.0, y + s.b0 * g.out_channels * plane + s.r0 * g.out_width, data_type<T>, plane,
            g.out_channels * plane, s.count, compute_type<T>, "conv2d");
  }
}

template <class T>
void conv2d_input_grad_impl(const ConvGeometry& g, const T* dy, const T* w, T* dx, bool half) {
  const std::int64_t k = g.depth(), plane = g.out_plane(), o = g.out_channels;
  const std::int64_t x_elements = g.batch * g.in_channels * g.in_plane();
  if (x_elements == 0) return;
  const bool pointwise = is_pointwise(g);
  const std::vector<Slice> all = slices(g);
  // Whether every pixel of dx is written by exactly one slice: a pointwise convolution's GEMMs write their
  // rows of dx; whole samples whose output rows read every input row write them in col2im. Else dx starts at
  // zero and the slices add to it.
  const std::int64_t y_first = std::max<std::int64_t>(0, -g.padding);
  const std::int64_t y_end = std::min(g.height, (g.out_height - 1) * g.stride - g.padding + g.kernel_h);
  const bool overwrite =
      o > 0 && plane > 0 &&
      (pointwise || (y_first == 0 && y_end == g.height && std::all_of(all.begin(), all.end(), [&](const Slice& s) {
                       return s.r0 == 0 && s.rows == g.out_height;
                     })));
  if (!overwrite)
    check_cuda(cudaMemsetAsync(dx, 0, sizeof(T) * x_elements, stream()), "conv_transpose2d", "cudaMemsetAsync");
  if (o == 0 || plane == 0) return;
  const Buffer w16 = bf16_weights(g, w, half);
  for (const Slice& s : all) {
    const std::int64_t n = s.pixels(g), w_stride = g.weight_stride();
    // A pointwise convolution's col is the slice of dx itself (the slices' rows are disjoint).
    Buffer workspace(pointwise ? 0 : sizeof(T) * static_cast<std::size_t>(s.count * k * n));
    T* col = pointwise ? dx + s.b0 * g.in_channels * g.in_plane() + s.r0 * g.width : workspace.get<T>();
    const std::int64_t ld = pointwise ? g.in_plane() : n, stride = pointwise ? g.in_channels * g.in_plane() : k * n;
    // Column-major per sample: colᵀ (n, K) = dyᵀ (n, O) · W (O, K), W read transposed from (K, O).
    if (half) {
      Buffer dy16(sizeof(bf16) * static_cast<std::size_t>(s.count * o * n));
      if constexpr (std::is_same_v<T, float>) dy_rows(g, s, dy, dy16.get<bf16>(), false, "conv_transpose2d");
      gemm_ex(false, true, n, k, o, dy16.get(), CUDA_R_16BF, n, o * n, w16.get<bf16>() + s.b0 * w_stride, CUDA_R_16BF,
              k, w_stride, 0.0, col, data_type<T>, ld, stride, s.count, compute_type<T>, "conv_transpose2d");
    } else {
      gemm_ex(false, true, n, k, o, dy + s.b0 * o * plane + s.r0 * g.out_width, data_type<T>, plane, o * plane,
              w + s.b0 * w_stride, data_type<T>, k, w_stride, 0.0, col, data_type<T>, ld, stride, s.count,
              compute_type<T>, "conv_transpose2d");
    }
    if (pointwise) continue;
    // The input rows this slice's output rows read.
    const std::int64_t y0 = std::max<std::int64_t>(0, s.r0 * g.stride - g.padding);
    const std::int64_t y1 = std::min(g.height, (s.r0 + s.rows - 1) * g.stride - g.padding + g.kernel_h);
    if (y1 <= y0) continue;
    with_index_type(slice_fits_int32(g, s), [&](auto index) {
      using I = decltype(index);
      const std::int64_t groups = (y1 - y0 + col2im_rows - 1) / col2im_rows;
      const auto launch = [&](auto kernel, std::int64_t phases) {
        const std::int64_t runs = (g.width + phases - 1) / phases;
        kernel<<<grid_for(s.count * g.in_channels * groups * runs), block_size, 0, stream()>>>(
            ConvIndex<I>(g, s), static_cast<I>(y0), static_cast<I>(y1), Divider<I>(groups), Divider<I>(runs),
            !overwrite, workspace.get<T>(), dx + s.b0 * g.in_channels * g.in_plane());
      };
      // Stride 2 (the transposed convolutions that upsample): both phases per thread.
      if (g.stride == 2)
        launch(col2im_kernel<T, I, 2>, 2);
      else
        launch(col2im_kernel<T, I, 1>, 1);
    });
    check_launch("conv_transpose2d");
  }
}

template <class T>
void conv2d_weight_grad_impl(const ConvGeometry& g, const T* x, const T* dy, T* dw) {
  const std::int64_t k = g.depth(), plane = g.out_plane(), o = g.out_channels;
  if (weight_elements(g) == 0) return;
  check_cuda(cudaMemsetAsync(dw, 0, sizeof(T) * weight_elements(g), stream()), "conv2d_weight_grad", "cudaMemsetAsync");
  if (plane == 0) return;
  for (const Slice& s : slices(g)) {
    const std::int64_t n = s.pixels(g), m = s.count * n;
    // Shared weights sum over the samples: one GEMM over the slice, dwᵀ (K, O) += col (K, count · n) ·
    // dyᵀ (count · n, O), from col and dy laid out by tap and by channel. Only where im2col runs anyway
    // and the copy of dy is no larger than col; else one GEMM per sample.
    if (!g.per_sample && s.count > 1 && o <= k && !is_pointwise(g)) {
      Buffer col(sizeof(T) * static_cast<std::size_t>(k * m)), dy_t(sizeof(T) * static_cast<std::size_t>(o * m));
      im2col(g, s, x, BiasLeakyRelu<T>{}, static_cast<const T*>(nullptr), col.get<T>(), true, "conv2d_weight_grad");
      dy_rows(g, s, dy, dy_t.get<T>(), true, "conv2d_weight_grad");
      gemm_ex(true, false, k, o, m, col.get(), data_type<T>, m, 0, dy_t.get(), data_type<T>, m, 0, 1.0, dw,
              data_type<T>, k, 0, 1, compute_type<T>, "conv2d_weight_grad");
      continue;
    }
    const ColOperand<T> col(g, s, x, BiasLeakyRelu<T>{}, nullptr, false, "conv2d_weight_grad");
    // Column-major: dwᵀ (K, O) += col (K, n) · dyᵀ (n, O), col read transposed from (n, K).
    const T* dy_slice = dy + s.b0 * o * plane + s.r0 * g.out_width;
    if (g.per_sample) {
      gemm_ex(true, false, k, o, n, col.data, data_type<T>, col.ld, col.stride, dy_slice, data_type<T>, plane,
              o * plane, 1.0, dw + s.b0 * o * k, data_type<T>, k, o * k, s.count, compute_type<T>,
              "conv2d_weight_grad");
    } else {
      for (std::int64_t b = 0; b < s.count; ++b)
        gemm_ex(true, false, k, o, n, static_cast<const T*>(col.data) + b * col.stride, data_type<T>, col.ld, 0,
                dy_slice + b * o * plane, data_type<T>, plane, 0, 1.0, dw, data_type<T>, k, 0, 1, compute_type<T>,
                "conv2d_weight_grad");
    }
  }
}

thread_local Precision current_precision = Precision::fp32;

}  // namespace

Precision conv_precision() { return current_precision; }
ConvPrecisionScope::ConvPrecisionScope(Precision precision) : previous_(current_precision) {
  current_precision = precision;
}
ConvPrecisionScope::~ConvPrecisionScope() { current_precision = previous_; }

void conv2d(const ConvGeometry& g, const float* x, const float* w, float* y, Precision precision) {
  conv2d_impl(g, x, BiasLeakyRelu<float>{}, static_cast<const float*>(nullptr), w, y, precision == Precision::bf16);
}
void conv2d(const ConvGeometry& g, const float* x, const float* w, float* y) { conv2d(g, x, w, y, conv_precision()); }
void conv2d(const ConvGeometry& g, const double* x, const double* w, double* y) {
  conv2d_impl(g, x, BiasLeakyRelu<double>{}, static_cast<const double*>(nullptr), w, y, false);
}

void conv2d(const ConvGeometry& g, const float* x, const BiasLeakyRelu<float>& x_activation, const float* column_scale,
            const float* w, float* y, Precision precision) {
  conv2d_impl(g, x, x_activation, column_scale, w, y, precision == Precision::bf16);
}
void conv2d(const ConvGeometry& g, const float* x, const BiasLeakyRelu<float>& x_activation, const float* column_scale,
            const float* w, float* y) {
  conv2d(g, x, x_activation, column_scale, w, y, conv_precision());
}
void conv2d(const ConvGeometry& g, const double* x, const BiasLeakyRelu<double>& x_activation,
            const double* column_scale, const double* w, double* y) {
  conv2d_impl(g, x, x_activation, column_scale, w, y, false);
}

void conv2d_input_grad(const ConvGeometry& g, const float* dy, const float* w, float* dx, Precision precision) {
  conv2d_input_grad_impl(g, dy, w, dx, precision == Precision::bf16);
}
void conv2d_input_grad(const ConvGeometry& g, const float* dy, const float* w, float* dx) {
  conv2d_input_grad(g, dy, w, dx, conv_precision());
}
void conv2d_input_grad(const ConvGeometry& g, const double* dy, const double* w, double* dx) {
  conv2d_input_grad_impl(g, dy, w, dx, false);
}

void conv2d_weight_grad(const ConvGeometry& g, const float* x, const float* dy, float* dw) {
  conv2d_weight_grad_impl(g, x, dy, dw);
}
void conv2d_weight_grad(const ConvGeometry& g, const double* x, const double* dy, double* dw) {
  conv2d_weight_grad_impl(g, x, dy, dw);
}

}  // namespace pixsyn::backend::cuda
