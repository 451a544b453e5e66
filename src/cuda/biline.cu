// The bi-line composition on the GPU (see include/pixsyn/backend/cuda/biline.hpp).
#include "common.cuh"
#include "pixsyn/backend/cuda/biline.hpp"

namespace pixsyn::backend::cuda {

namespace {

// One thread per output (b, p, k): consecutive threads take consecutive channels, so loads coalesce.
template <class T>
__global__ void biline_compose_kernel(std::int64_t n, std::int64_t height, std::int64_t width, std::int64_t thickness,
                                      std::int64_t channels, std::int64_t points, const T* u, const T* v,
                                      const std::int64_t* rows, const std::int64_t* cols, T* out) {
  PIXSYN_GRID_STRIDE(i, n) {
    const std::int64_t k = i % channels, p = i / channels % points, b = i / (channels * points);
    const T* ur = u + (b * height + rows[p]) * thickness * channels + k;
    const T* vr = v + (b * width + cols[p]) * thickness * channels + k;
    T sum = ur[0] * vr[0];
    for (std::int64_t d = 1; d < thickness; ++d) sum += ur[d * channels] * vr[d * channels];
    out[i] = sum;
  }
}

}  // namespace

template <class T>
void biline_compose(std::int64_t batch, std::int64_t height, std::int64_t width, std::int64_t thickness,
                    std::int64_t channels, const T* u, const T* v, const std::int64_t* rows, const std::int64_t* cols,
                    std::int64_t points, T* out) {
  const std::int64_t n = batch * points * channels;
  if (n == 0) return;
  biline_compose_kernel<<<grid_for(n), block_size, 0, stream()>>>(n, height, width, thickness, channels, points, u, v,
                                                                  rows, cols, out);
  check_launch("biline_compose");
}

template void biline_compose<float>(std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t, const float*,
                                    const float*, const std::int64_t*, const std::int64_t*, std::int64_t, float*);
template void biline_compose<double>(std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t,
                                     const double*, const double*, const std::int64_t*, const std::int64_t*,
                                     std::int64_t, double*);

}  // namespace pixsyn::backend::cuda
