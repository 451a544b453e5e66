// Bilinear grid_sample on the GPU, a port of backend/eigen/grid_sample.hpp (PyTorch semantics).
#include "common.cuh"
#include "pixsyn/backend/cuda/grid_sample.hpp"
#include "pixsyn/backend/grid_sample_math.hpp"

namespace pixsyn::backend::cuda {

namespace {

// One thread per output point; consecutive threads write consecutive points of each channel plane.
template <class T>
__global__ void grid_sample_kernel(std::int64_t N, std::int64_t C, std::int64_t H, std::int64_t W, std::int64_t P,
                                   const T* input, const T* grid, T* out, bool align_corners, bool border) {
  for (std::int64_t t = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; t < N * P;
       t += std::int64_t(gridDim.x) * blockDim.x) {
    const std::int64_t n = t / P, p = t % P;
    const auto taps = bilinear_taps(grid[t * 2], grid[t * 2 + 1], H, W, align_corners, border);
    const T* src = input + n * C * H * W;
    T* dst = out + n * C * P + p;
    for (std::int64_t c = 0; c < C; ++c) {
      const T* s = src + c * H * W;
      T v = 0;
      for (int k = 0; k < taps.count; ++k) v += s[taps.offset[k]] * taps.weight[k];
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
