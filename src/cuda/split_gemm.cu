// 3×TF32 GEMMs (see include/pixsyn/backend/cuda/split_gemm.hpp).
#include "common.cuh"
#include "gemm.cuh"
#include "pixsyn/backend/cuda/split_gemm.hpp"
#include "pixsyn/core/error.hpp"
#include "tf32_split.cuh"

namespace pixsyn::backend::cuda {

namespace {

__global__ void split_kernel(std::int64_t rows, std::int64_t k, const float* x, SplitSide side, float* out) {
  PIXSYN_GRID_STRIDE(t, rows * k) {
    const std::int64_t r = t / k, i = t % k;
    store_split(x[t], out + r * 3 * k, k, i, side);
  }
}

}  // namespace

void split_tf32(std::int64_t rows, std::int64_t k, const float* x, SplitSide side, float* out) {
  pixsyn::detail::check(rows >= 0 && k >= 0, "split_tf32: negative size (rows ", rows, ", k ", k, ")");
  if (rows == 0 || k == 0) return;
  split_kernel<<<grid_for(rows * k), block_size, 0, stream()>>>(rows, k, x, side, out);
  check_launch("split_tf32");
}

void split_tf32_gemm(std::int64_t batch, std::int64_t m, std::int64_t n, std::int64_t k, const float* a,
                     std::int64_t stride_a, const float* b, std::int64_t stride_b, float* c, std::int64_t stride_c,
                     int accumulations) {
  pixsyn::detail::check(batch >= 0 && m >= 0 && n >= 0 && k >= 0, "split_tf32_gemm: negative size (batch ", batch,
                        ", m ", m, ", n ", n, ", k ", k, ")");
  pixsyn::detail::check(accumulations >= 1 && accumulations <= 8, "split_tf32_gemm: accumulations is ", accumulations,
                        "; expected 1 to 8");
  if (batch == 0 || m == 0 || n == 0) return;
  if (k == 0) {
    for (std::int64_t i = 0; i < batch; ++i)
      check_cuda(cudaMemsetAsync(c + i * stride_c, 0, sizeof(float) * m * n, stream()), "split_tf32_gemm",
                 "cudaMemsetAsync");
    return;
  }
  // Row-major c = a bᵀ is column-major cᵀ (n, m) = b aᵀ: b's rows (3k long) as the transposed first operand.
  // Pass 0 takes the small terms and the first slice of the head products; passes 1.. the further slices,
  // each added to c (beta = 1). The slices of the head products cut it at multiples of 4 elements (16 bytes).
  auto pass = [&](std::int64_t from, std::int64_t to, double beta) {
    if (to > from)
      gemm_ex(true, false, n, m, to - from, b + from, CUDA_R_32F, 3 * k, stride_b, a + from, CUDA_R_32F, 3 * k,
              stride_a, beta, c, CUDA_R_32F, n, stride_c, batch, CUBLAS_COMPUTE_32F_FAST_TF32, "split_tf32_gemm");
  };
  auto edge = [&](int i) { return i == accumulations ? 3 * k : 2 * k + k * i / accumulations / 4 * 4; };
  pass(0, edge(1), 0.0);
  for (int i = 1; i < accumulations; ++i) pass(edge(i), edge(i + 1), 1.0);
}

}  // namespace pixsyn::backend::cuda
