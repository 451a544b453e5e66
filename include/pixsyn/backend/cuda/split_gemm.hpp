#pragma once
// fp32 GEMMs on TF32 tensor cores, "3×TF32" (declarations; kernels in src/cuda/split_gemm.cu). An fp32
// value x splits exactly into its TF32 head h (x rounded to 10 mantissa bits) and the fp32 remainder
// r = x - h. A product a·b = r_a h_b + h_a r_b + h_a h_b + r_a r_b: the first three terms are exact on
// TF32 tensor cores (r's own TF32 rounding costs ~2⁻²² relative) and the fourth is ~2⁻²² of a·b.
//
// The three terms run as one TF32 GEMM over 3K: each row of K values is stored split, [r | h | h] for
// the left factor and [h | r | h] for the right one, so that the small terms come first. What limits the
// accuracy is the tensor cores' fp32 accumulator, which on Hopper behaves as if truncated (rounded toward
// zero) at every k-step: the error grows with the steps a large sum takes and is biased, so a 512-deep
// head product in one accumulator is ~2-10x less accurate than an SGEMM (measured: docs/cuda.md). The head
// products are therefore summed in `accumulations` separate passes over slices of K, each from zero on
// the tensor cores, added in fp32 by cuBLAS's epilogue (beta = 1): more passes, closer to SGEMM
// accuracy, at one extra read and write of c per pass.
#include <cstdint>

namespace pixsyn::backend::cuda {

// Which factor of c = a bᵀ a split matrix is: left (a) rows hold [r | h | h], right (b) rows [h | r | h].
enum class SplitSide { left, right };

// The accumulations that pixsyn's fp32 paths use: measured to keep CIPS renders within 1e-5 of the CPU.
inline constexpr int default_split_accumulations = 2;

// out (rows, 3k) = the split of x (rows, k), on the default context's stream. out never aliases x.
void split_tf32(std::int64_t rows, std::int64_t k, const float* x, SplitSide side, float* out);

// `batch` products c_i (m, n) = a_i b_iᵀ, row-major, from split operands a_i (m, 3k) (left) and b_i (n, 3k)
// (right), strides in elements between the products (0 shares an operand). `accumulations` (1 to 8): the
// passes the head products are summed in (see above). A GPU without TF32 tensor cores (compute capability
// < 8.0) computes the same terms in plain fp32, three times the work of an SGEMM.
void split_tf32_gemm(std::int64_t batch, std::int64_t m, std::int64_t n, std::int64_t k, const float* a,
                     std::int64_t stride_a, const float* b, std::int64_t stride_b, float* c, std::int64_t stride_c,
                     int accumulations = default_split_accumulations);

}  // namespace pixsyn::backend::cuda
