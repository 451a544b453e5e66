#pragma once
// Bilinear grid_sample on the GPU with PyTorch's semantics (declarations; kernels in src/cuda/grid_sample.cu).
#include <cstdint>

namespace pixsyn::backend::cuda {

// input (N, C, H, W), grid (N, Ho, Wo, 2) -> out (N, C, Ho, Wo); see ops/grid_sample.hpp.
void grid_sample_bilinear(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t ho,
                          std::int64_t wo, const float* input, const float* grid, float* out, bool align_corners,
                          bool border);
void grid_sample_bilinear(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t ho,
                          std::int64_t wo, const double* input, const double* grid, double* out, bool align_corners,
                          bool border);

// The adjoint in the input: g (N, C, Ho, Wo), grid (N, Ho, Wo, 2) -> out (N, C, H, W). Deterministic: the
// points are sorted by the cell they fall in (CUB's radix sort, stable), and each input pixel gathers the points
// of its four neighbouring cells in that order; no atomics, so every run sums alike.
void grid_sample_bilinear_adjoint(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t ho,
                                  std::int64_t wo, const float* g, const float* grid, float* out, bool align_corners,
                                  bool border);
void grid_sample_bilinear_adjoint(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t ho,
                                  std::int64_t wo, const double* g, const double* grid, double* out, bool align_corners,
                                  bool border);

}  // namespace pixsyn::backend::cuda
