#pragma once
// 2-D convolution on the CPU: im2col + Eigen GEMM, in chunks of output rows.
//
// conv2d computes y_b (O, n) = W_b (O, K) col (K, n) for each chunk of n output pixels, col being the
// K = I·kh·kw input values under each output pixel (im2col). Its input gradient, which is also
// conv_transpose2d, computes col = W_bᵀ dy chunk and scatters col back (col2im); its weight gradient sums
// col dy chunkᵀ over chunks and samples. Chunks bound the im2col buffer (a 256² layer's full col would be
// hundreds of MB) and spread the work across OpenMP threads.
//
// Determinism: a chunk's rows depend on the geometry only (never on the batch or the thread count), so a
// sample's result is bit-identical in any batch (ALIS's patches are batch entries); scatters and sums run
// in a fixed order.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "pixsyn/backend/conv_geometry.hpp"
#include "pixsyn/backend/eigen/gemm.hpp"

namespace pixsyn::backend::eigen {

namespace detail {

// a / b rounded down and up, for b > 0 and any sign of a.
inline std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
inline std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return -floor_div(-a, b); }

// About this many elements in a chunk's im2col buffer.
inline constexpr std::int64_t conv_chunk_elements = std::int64_t(1) << 20;

// Output rows per chunk: at least kh / stride, so that chunks two apart never touch the same input rows
// (col2im scatters even chunks, then odd ones, in parallel).
inline std::int64_t conv_chunk_rows(const ConvGeometry& g) {
  const std::int64_t pixels = std::max<std::int64_t>(256, conv_chunk_elements / std::max<std::int64_t>(g.depth(), 1));
  const std::int64_t rows =
      std::max(ceil_div(g.kernel_h, g.stride), ceil_div(pixels, std::max<std::int64_t>(g.out_width, 1)));
  return std::clamp<std::int64_t>(rows, 1, std::max<std::int64_t>(g.out_height, 1));
}

// The output columns [lo, hi) whose tap kx reads inside the input row.
struct ValidRange {
  std::int64_t lo, hi;
};
inline ValidRange valid_columns(const ConvGeometry& g, std::int64_t kx) {
  const std::int64_t lo = std::max<std::int64_t>(0, ceil_div(g.padding - kx, g.stride));
  const std::int64_t hi = std::min(g.out_width, floor_div(g.width - 1 + g.padding - kx, g.stride) + 1);
  return {lo, std::max(lo, hi)};
}

// col (K, rows · Wo) = the inputs under output rows [r0, r0 + rows) of one sample x (I, H, W).
template <class T>
void im2col(const ConvGeometry& g, const T* x, std::int64_t r0, std::int64_t rows, T* col) {
  const std::int64_t n = rows * g.out_width;
  for (std::int64_t i = 0; i < g.in_channels; ++i)
    for (std::int64_t ky = 0; ky < g.kernel_h; ++ky)
      for (std::int64_t kx = 0; kx < g.kernel_w; ++kx) {
        T* dst = col + ((i * g.kernel_h + ky) * g.kernel_w + kx) * n;
        const auto [lo, hi] = valid_columns(g, kx);
        for (std::int64_t r = 0; r < rows; ++r, dst += g.out_width) {
          const std::int64_t iy = conv_source(r0 + r, ky, g.stride, g.padding);
          if (iy < 0 || iy >= g.height) {
            std::fill(dst, dst + g.out_width, T(0));
            continue;
          }
          const T* src = x + (i * g.height + iy) * g.width;
          std::fill(dst, dst + lo, T(0));
          for (std::int64_t ox = lo; ox < hi; ++ox) dst[ox] = src[conv_source(ox, kx, g.stride, g.padding)];
          std::fill(dst + hi, dst + g.out_width, T(0));
        }
      }
}

// The adjoint of im2col: dx (I, H, W) += the values of col scattered back to the inputs they came from.
template <class T>
void col2im(const ConvGeometry& g, const T* col, std::int64_t r0, std::int64_t rows, T* dx) {
  const std::int64_t n = rows * g.out_width;
  for (std::int64_t i = 0; i < g.in_channels; ++i)
    for (std::int64_t ky = 0; ky < g.kernel_h; ++ky)
      for (std::int64_t kx = 0; kx < g.kernel_w; ++kx) {
        const T* src = col + ((i * g.kernel_h + ky) * g.kernel_w + kx) * n;
        const auto [lo, hi] = valid_columns(g, kx);
        for (std::int64_t r = 0; r < rows; ++r, src += g.out_width) {
          const std::int64_t iy = conv_source(r0 + r, ky, g.stride, g.padding);
          if (iy < 0 || iy >= g.height) continue;
          T* dst = dx + (i * g.height + iy) * g.width;
          for (std::int64_t ox = lo; ox < hi; ++ox) dst[conv_source(ox, kx, g.stride, g.padding)] += src[ox];
        }
      }
}

// buf (O, n) = dy (O, Ho · Wo) of one sample at output rows [r0, r0 + rows): a contiguous GEMM operand.
template <class T>
void copy_out_rows(const ConvGeometry& g, const T* dy, std::int64_t r0, std::int64_t rows, T* buf) {
  const std::int64_t n = rows * g.out_width;
  for (std::int64_t o = 0; o < g.out_channels; ++o)
    std::copy_n(dy + o * g.out_plane() + r0 * g.out_width, n, buf + o * n);
}

}  // namespace detail

// y (B, O, Ho, Wo) = conv2d(x (B, I, H, W), w): cross-correlation with zero padding, as torch's conv2d.
template <class T>
void conv2d(const ConvGeometry& g, const T* x, const T* w, T* y) {
  const std::int64_t rows_per = detail::conv_chunk_rows(g), chunks = detail::ceil_div(g.out_height, rows_per);
  const std::int64_t k = g.depth(), plane = g.out_plane();
#pragma omp parallel for schedule(dynamic) if (g.batch * chunks > 1 && g.batch * plane * k * g.out_channels > (1 << 18))
  for (std::int64_t task = 0; task < g.batch * chunks; ++task) {
    const std::int64_t b = task / chunks, r0 = task % chunks * rows_per;
    const std::int64_t rows = std::min(rows_per, g.out_height - r0), n = rows * g.out_width;
    std::vector<T> col(static_cast<std::size_t>(k * n));
    detail::im2col(g, x + b * g.in_channels * g.in_plane(), r0, rows, col.data());
    eigen::detail::gemm_block(false, false, g.out_channels, n, k, T(1), w + b * g.weight_stride(), k, col.data(), T(0),
                              y + b * g.out_channels * plane + r0 * g.out_width, plane);
  }
}

// dx (B, I, H, W) = the adjoint of conv2d applied to dy (B, O, Ho, Wo): conv2d's input gradient, and
// conv_transpose2d of dy with the same weight. dx is overwritten.
template <class T>
void conv2d_input_grad(const ConvGeometry& g, const T* dy, const T* w, T* dx) {
  std::fill(dx, dx + g.batch * g.in_channels * g.in_plane(), T(0));
  const std::int64_t rows_per = detail::conv_chunk_rows(g), chunks = detail::ceil_div(g.out_height, rows_per);
  const std::int64_t k = g.depth(), half = detail::ceil_div(chunks, 2);
  const bool parallel = g.batch * chunks > 1 && g.batch * g.out_plane() * k * g.out_channels > (1 << 18);
  // Even chunks, then odd ones: chunks two apart scatter to disjoint input rows (see conv_chunk_rows).
  for (std::int64_t parity = 0; parity < 2; ++parity) {
#pragma omp parallel for schedule(dynamic) if (parallel)
    for (std::int64_t task = 0; task < g.batch * half; ++task) {
      const std::int64_t b = task / half, chunk = task % half * 2 + parity;
      if (chunk >= chunks) continue;
      const std::int64_t r0 = chunk * rows_per, rows = std::min(rows_per, g.out_height - r0), n = rows * g.out_width;
      std::vector<T> dy_rows(static_cast<std::size_t>(g.out_channels * n)), col(static_cast<std::size_t>(k * n));
      detail::copy_out_rows(g, dy + b * g.out_channels * g.out_plane(), r0, rows, dy_rows.data());
      eigen::detail::gemm_block(true, false, k, n, g.out_channels, T(1), w + b * g.weight_stride(), k, dy_rows.data(),
                                T(0), col.data(), n);
      detail::col2im(g, col.data(), r0, rows, dx + b * g.in_channels * g.in_plane());
    }
  }
}

// dw = Σ_b dy_b col_bᵀ: conv2d's weight gradient, (O, I, kh, kw), or (B, O, I, kh, kw) per sample
// (no sum over the batch). dw is overwritten. Accumulates dwᵀ (K, O), whose K rows spread across threads.
template <class T>
void conv2d_weight_grad(const ConvGeometry& g, const T* x, const T* dy, T* dw) {
  const std::int64_t rows_per = detail::conv_chunk_rows(g), chunks = detail::ceil_div(g.out_height, rows_per);
  const std::int64_t k = g.depth(), o = g.out_channels;
  const std::int64_t copies = g.per_sample ? g.batch : 1;
  std::vector<T> dw_t(static_cast<std::size_t>(copies * k * o), T(0));
  std::vector<T> col, dy_rows;
  for (std::int64_t b = 0; b < g.batch; ++b)
    for (std::int64_t chunk = 0; chunk < chunks; ++chunk) {
      const std::int64_t r0 = chunk * rows_per, rows = std::min(rows_per, g.out_height - r0), n = rows * g.out_width;
      col.resize(static_cast<std::size_t>(k * n));
      dy_rows.resize(static_cast<std::size_t>(o * n));
      detail::im2col(g, x + b * g.in_channels * g.in_plane(), r0, rows, col.data());
      detail::copy_out_rows(g, dy + b * o * g.out_plane(), r0, rows, dy_rows.data());
      gemm(false, true, k, o, n, T(1), col.data(), dy_rows.data(), T(1), dw_t.data() + (g.per_sample ? b * k * o : 0));
    }
  for (std::int64_t c = 0; c < copies; ++c)
    for (std::int64_t q = 0; q < k; ++q)
      for (std::int64_t oc = 0; oc < o; ++oc)
        dw[(c * o + oc) * k + q] = dw_t[static_cast<std::size_t>((c * k + q) * o + oc)];
}

}  // namespace pixsyn::backend::eigen
