#pragma once
// The bi-line composition kernel on the GPU (CREPS; src/cuda/biline.cu): per (sample, pixel) pair, the
// rank-D inner product of a row embedding and a column embedding, channel by channel. Index pointers are
// device memory.
#include <cstdint>

namespace pixsyn::backend::cuda {

// out[b, p, k] = Σ_d u[b, rows[p], d, k] v[b, cols[p], d, k] for u (B, H, D, K), v (B, W, D, K) and
// `points` index pairs; out (B, points, K). The sum runs over d in order, as the CPU kernel's.
template <class T>
void biline_compose(std::int64_t batch, std::int64_t height, std::int64_t width, std::int64_t thickness,
                    std::int64_t channels, const T* u, const T* v, const std::int64_t* rows, const std::int64_t* cols,
                    std::int64_t points, T* out);

}  // namespace pixsyn::backend::cuda
