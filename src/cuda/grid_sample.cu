// Bilinear grid_sample on the GPU, a port of backend/eigen/grid_sample.hpp (PyTorch semantics).
#include "common.cuh"
#include "pixsyn/backend/cuda/grid_sample.hpp"

namespace pixsyn::backend::cuda {

namespace {

template <class T>
__device__ T source_index(T coord, std::int64_t size, bool align_corners, bool border) {
  const T n = static_cast<T>(size);
  T i = align_corners ? (coord + 1) / 2 * (n - 1) : ((coord + 1) * n - 1) / 2;
  if (border) i = i < T(0) ? T(0) : (i > n - 1 ? n - 1 : i);  // NaN stays NaN, as std::clamp leaves it
  return i;
}

// One thread per output point; consecutive threads write consecutive points of each channel plane.
template <class T>
__global__ void grid_sample_kernel(std::int64_t N, std::int64_t C, std::int64_t H, std::int64_t W, std::int64_t P,
                                   const T* input, const T* grid, T* out, bool align_corners, bool border) {
  for (std::int64_t t = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; t < N * P;
       t += std::int64_t(gridDim.x) * blockDim.x) {
    const std::int64_t n = t / P, p = t % P;
    const T ix = source_index(grid[t * 2], W, align_corners, border);
    const T iy = source_index(grid[t * 2 + 1], H, align_corners, border);
    const T fx = floor(ix), fy = floor(iy);
    const T wx[2] = {fx + 1 - ix, ix - fx}, wy[2] = {fy + 1 - iy, iy - fy};
    // Far-away (or NaN) coordinates touch no pixel; testing them first keeps the integer casts defined.
    const bool near = fx >= -1 && fx < static_cast<T>(W) && fy >= -1 && fy < static_cast<T>(H);
    const auto x0 = near ? static_cast<std::int64_t>(fx) : 0, y0 = near ? static_cast<std::int64_t>(fy) : 0;
    std::int64_t offset[4];
    T weight[4];
    int taps = 0;
    for (int dy = 0; dy < 2 && near; ++dy)
      for (int dx = 0; dx < 2; ++dx) {
        const std::int64_t xi = x0 + dx, yi = y0 + dy;
        if (xi < 0 || xi >= W || yi < 0 || yi >= H) continue;
        offset[taps] = yi * W + xi;
        weight[taps++] = wx[dx] * wy[dy];
      }
    const T* src = input + n * C * H * W;
    T* dst = out + n * C * P + p;
    for (std::int64_t c = 0; c < C; ++c) {
      const T* s = src + c * H * W;
      T v = 0;
      for (int k = 0; k < taps; ++k) v += s[offset[k]] * weight[k];
      dst[c * P] = v;
    }
  }
}

template <class T>
void grid_sample_impl(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t ho, std::int64_t wo,
                      const T* input, const T* grid, T* out, bool align_corners, bool border) {
  const std::int64_t points = ho * wo;
  if (n * points == 0) return;
  grid_sample_kernel<<<grid_for(n * points), block_size, 0, stream()>>>(n, c, h, w, points, input, grid, out,
                                                                        align_corners, border);
  check_launch("grid_sample");
}

}  // namespace

void grid_sample_bilinear(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t ho,
                          std::int64_t wo, const float* input, const float* grid, float* out, bool align_corners,
                          bool border) {
  grid_sample_impl(n, c, h, w, ho, wo, input, grid, out, align_corners, border);
}
void grid_sample_bilinear(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t ho,
                          std::int64_t wo, const double* input, const double* grid, double* out, bool align_corners,
                          bool border) {
  grid_sample_impl(n, c, h, w, ho, wo, input, grid, out, align_corners, border);
}

}  // namespace pixsyn::backend::cuda
