#pragma once
// GEMM on the GPU through cuBLAS (declarations; kernels in src/cuda/gemm.cu). Row-major operands as in
// backend/eigen/gemm.hpp. fp32 products use plain fp32 arithmetic, so they match the CPU, unless the
// context allows TF32 (Context::set_allow_tf32, off by default).
#include <cstdint>

namespace pixsyn::backend::cuda {

// `batch` products c_i (m, n) = op(a_i) op(b_i) on the default context's stream; op(a) is (m, k): a is
// stored (m, k), or (k, m) when trans_a; op(b) is (k, n): b is stored (k, n), or (n, k) when trans_b.
// A stride of 0 shares that operand between the products.
void batched_gemm(std::int64_t batch, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                  const float* a, std::int64_t stride_a, const float* b, std::int64_t stride_b, float* c);
void batched_gemm(std::int64_t batch, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                  const double* a, std::int64_t stride_a, const double* b, std::int64_t stride_b, double* c);

// y (rows, out) = x (rows, in) wᵀ + bias, with w (out, in) and bias (out) or null.
void linear(std::int64_t rows, std::int64_t in, std::int64_t out, const float* x, const float* w, const float* bias,
            float* y);
void linear(std::int64_t rows, std::int64_t in, std::int64_t out, const double* x, const double* w, const double* bias,
            double* y);

}  // namespace pixsyn::backend::cuda
