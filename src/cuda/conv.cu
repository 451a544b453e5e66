// 2-D convolutions on the GPU (see include/pixsyn/backend/cuda/conv.hpp): im2col into a workspace and
// cuBLAS strided-batched GEMMs, the same factorisation as the CPU path (backend/eigen/conv.hpp). The
// transposed convolution's col2im is a gather (every input pixel sums its own taps), so it needs no atomics
// and is deterministic.
#include <cuda_bf16.h>

#include <algorithm>
#include <vector>

#include "common.cuh"
#include "fast_render.cuh"
#include "gemm.cuh"
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

// col (count, K, n) = the inputs under the slice's output pixels, zero where a tap reads the padding.
template <class T, class C>
__global__ void im2col_kernel(ConvGeometry g, Slice s, const T* x, C* col) {
  const std::int64_t n = s.pixels(g), k = g.depth();
  PIXSYN_GRID_STRIDE(idx, s.count * k * n) {
    const std::int64_t j = idx % n, q = idx / n % k, b = s.b0 + idx / (n * k);
    const std::int64_t i = q / (g.kernel_h * g.kernel_w), ky = q / g.kernel_w % g.kernel_h, kx = q % g.kernel_w;
    const std::int64_t iy = conv_source(s.r0 + j / g.out_width, ky, g.stride, g.padding);
    const std::int64_t ix = conv_source(j % g.out_width, kx, g.stride, g.padding);
    const bool inside = iy >= 0 && iy < g.height && ix >= 0 && ix < g.width;
    col[idx] = convert<C>(inside ? x[((b * g.in_channels + i) * g.height + iy) * g.width + ix] : T(0));
  }
}

// dx (slice's samples, I, H, W) += the col entries (count, K, n) that came from each input pixel. Only the
// input rows the slice's output rows read are visited.
template <class T>
__global__ void col2im_kernel(ConvGeometry g, Slice s, std::int64_t y0, std::int64_t y1, const T* col, T* dx) {
  const std::int64_t n = s.pixels(g), k = g.depth(), span = y1 - y0;
  PIXSYN_GRID_STRIDE(idx, s.count * g.in_channels * span * g.width) {
    const std::int64_t ix = idx % g.width, iy = y0 + idx / g.width % span, i = idx / (g.width * span) % g.in_channels;
    const std::int64_t b = idx / (g.width * span * g.in_channels);
    T acc = 0;
    for (std::int64_t ky = 0; ky < g.kernel_h; ++ky) {
      const std::int64_t t = iy + g.padding - ky;
      if (t < 0 || t % g.stride != 0) continue;
      const std::int64_t oy = t / g.stride;
      if (oy < s.r0 || oy >= s.r0 + s.rows) continue;
      for (std::int64_t kx = 0; kx < g.kernel_w; ++kx) {
        const std::int64_t u = ix + g.padding - kx;
        if (u < 0 || u % g.stride != 0 || u / g.stride >= g.out_width) continue;
        const std::int64_t q = (i * g.kernel_h + ky) * g.kernel_w + kx;
        acc += col[(b * k + q) * n + (oy - s.r0) * g.out_width + u / g.stride];
      }
    }
    dx[(((s.b0 + b) * g.in_channels + i) * g.height + iy) * g.width + ix] += acc;
  }
}

// out (count, O, n) in bf16 = dy's slice rows (a contiguous bf16 GEMM operand).
__global__ void rows_to_bf16_kernel(ConvGeometry g, Slice s, const float* dy, bf16* out) {
  const std::int64_t n = s.pixels(g);
  PIXSYN_GRID_STRIDE(idx, s.count * g.out_channels * n) {
    const std::int64_t j = idx % n, o = idx / n % g.out_channels, b = s.b0 + idx / (n * g.out_channels);
    out[idx] = __float2bfloat16_rn(dy[(b * g.out_channels + o) * g.out_plane() + s.r0 * g.out_width + j]);
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

template <class T>
void conv2d_impl(const ConvGeometry& g, const T* x, const T* w, T* y, bool half) {
  const std::int64_t k = g.depth(), plane = g.out_plane();
  if (g.batch == 0 || g.out_channels == 0 || plane == 0) return;
  if (k == 0) {
    check_cuda(cudaMemsetAsync(y, 0, sizeof(T) * g.batch * g.out_channels * plane, stream()), "conv2d",
               "cudaMemsetAsync");
    return;
  }
  const Buffer w16 = bf16_weights(g, w, half);
  const std::size_t col_size = half ? sizeof(bf16) : sizeof(T);
  for (const Slice& s : slices(g)) {
    const std::int64_t n = s.pixels(g);
    Buffer col(col_size * static_cast<std::size_t>(s.count * k * n));
    if (half)
      im2col_kernel<<<grid_for(s.count * k * n), block_size, 0, stream()>>>(g, s, x, col.get<bf16>());
    else
      im2col_kernel<<<grid_for(s.count * k * n), block_size, 0, stream()>>>(g, s, x, col.get<T>());
    check_launch("conv2d");
    // Column-major per sample: yᵀ (n, O) = colᵀ (n, K) · Wᵀ (K, O); y's rows are `plane` apart.
    const std::int64_t w_stride = g.weight_stride();
    const void* wp = half ? static_cast<const void*>(w16.get<bf16>() + s.b0 * w_stride)
                          : static_cast<const void*>(w + s.b0 * w_stride);
    const cudaDataType_t in_type = half ? CUDA_R_16BF : data_type<T>;
    gemm_ex(false, false, n, g.out_channels, k, col.get(), in_type, n, k * n, wp, in_type, k, w_stride, 0.0,
            y + s.b0 * g.out_channels * plane + s.r0 * g.out_width, data_type<T>, plane, g.out_channels * plane,
            s.count, compute_type<T>, "conv2d");
  }
}

template <class T>
void conv2d_input_grad_impl(const ConvGeometry& g, const T* dy, const T* w, T* dx, bool half) {
  const std::int64_t k = g.depth(), plane = g.out_plane(), o = g.out_channels;
  const std::int64_t x_elements = g.batch * g.in_channels * g.in_plane();
  if (x_elements == 0) return;
  check_cuda(cudaMemsetAsync(dx, 0, sizeof(T) * x_elements, stream()), "conv_transpose2d", "cudaMemsetAsync");
  if (o == 0 || plane == 0) return;
  const Buffer w16 = bf16_weights(g, w, half);
  for (const Slice& s : slices(g)) {
    const std::int64_t n = s.pixels(g), w_stride = g.weight_stride();
    Buffer col(sizeof(T) * static_cast<std::size_t>(s.count * k * n));
    // Column-major per sample: colᵀ (n, K) = dyᵀ (n, O) · W (O, K), W read transposed from (K, O).
    if (half) {
      Buffer dy16(sizeof(bf16) * static_cast<std::size_t>(s.count * o * n));
      if constexpr (std::is_same_v<T, float>) {
        rows_to_bf16_kernel<<<grid_for(s.count * o * n), block_size, 0, stream()>>>(g, s, dy, dy16.get<bf16>());
        check_launch("conv_transpose2d");
      }
      gemm_ex(false, true, n, k, o, dy16.get(), CUDA_R_16BF, n, o * n, w16.get<bf16>() + s.b0 * w_stride, CUDA_R_16BF,
              k, w_stride, 0.0, col.get(), data_type<T>, n, k * n, s.count, compute_type<T>, "conv_transpose2d");
    } else {
      gemm_ex(false, true, n, k, o, dy + s.b0 * o * plane + s.r0 * g.out_width, data_type<T>, plane, o * plane,
              w + s.b0 * w_stride, data_type<T>, k, w_stride, 0.0, col.get(), data_type<T>, n, k * n, s.count,
              compute_type<T>, "conv_transpose2d");
    }
    // The input rows this slice's output rows read.
    const std::int64_t y0 = std::max<std::int64_t>(0, s.r0 * g.stride - g.padding);
    const std::int64_t y1 = std::min(g.height, (s.r0 + s.rows - 1) * g.stride - g.padding + g.kernel_h);
    if (y1 <= y0) continue;
    col2im_kernel<<<grid_for(s.count * g.in_channels * (y1 - y0) * g.width), block_size, 0, stream()>>>(
        g, s, y0, y1, col.get<T>(), dx);
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
    const std::int64_t n = s.pixels(g);
    Buffer col(sizeof(T) * static_cast<std::size_t>(s.count * k * n));
    im2col_kernel<<<grid_for(s.count * k * n), block_size, 0, stream()>>>(g, s, x, col.get<T>());
    check_launch("conv2d_weight_grad");
    // Column-major: dwᵀ (K, O) += col (K, n) · dyᵀ (n, O), col read transposed from (n, K). Per-sample
    // weights take one product per sample; shared ones accumulate every sample's in turn.
    const T* dy_slice = dy + s.b0 * o * plane + s.r0 * g.out_width;
    if (g.per_sample) {
      gemm_ex(true, false, k, o, n, col.get(), data_type<T>, n, k * n, dy_slice, data_type<T>, plane, o * plane, 1.0,
              dw + s.b0 * o * k, data_type<T>, k, o * k, s.count, compute_type<T>, "conv2d_weight_grad");
    } else {
      for (std::int64_t b = 0; b < s.count; ++b)
        gemm_ex(true, false, k, o, n, col.get<T>() + b * k * n, data_type<T>, n, 0, dy_slice + b * o * plane,
                data_type<T>, plane, 0, 1.0, dw, data_type<T>, k, 0, 1, compute_type<T>, "conv2d_weight_grad");
    }
  }
}

}  // namespace

void conv2d(const ConvGeometry& g, const float* x, const float* w, float* y, Precision precision) {
  conv2d_impl(g, x, w, y, precision == Precision::bf16);
}
void conv2d(const ConvGeometry& g, const double* x, const double* w, double* y) { conv2d_impl(g, x, w, y, false); }

void conv2d_input_grad(const ConvGeometry& g, const float* dy, const float* w, float* dx, Precision precision) {
  conv2d_input_grad_impl(g, dy, w, dx, precision == Precision::bf16);
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
