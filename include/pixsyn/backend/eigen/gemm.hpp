#pragma once
// GEMM on the CPU through Eigen maps over row-major buffers. A transposed operand is read as a
// column-major map of the same memory, so transposes cost nothing.
//
// Determinism: a row of a product must not depend on how many rows share the call, so that a tiled
// render equals the one-shot render bit for bit. Two things would break that: Eigen's multi-threaded
// GEMM picks its depth blocking from the thread count, and its scalar kernel for the ragged last
// m % packet rows rounds differently from the vector kernels. So Eigen runs single-threaded (its
// depth blocking then depends on k alone), pixsyn splits rows into fixed blocks across OpenMP
// threads itself, and a ragged tail goes through a zero-padded block of `row_quantum` rows.
#ifndef EIGEN_DONT_PARALLELIZE
#define EIGEN_DONT_PARALLELIZE
#endif
#include <algorithm>
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "pixsyn/backend/eigen/elementwise.hpp"

#ifdef EIGEN_HAS_OPENMP
#error "pixsyn needs Eigen without its own OpenMP GEMM: include pixsyn before Eigen or define EIGEN_DONT_PARALLELIZE"
#endif

namespace pixsyn::backend::eigen {

template <class T>
using RowMajorMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using ColMajorMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

inline constexpr std::int64_t row_quantum = 16;  // a multiple of every SIMD packet (up to AVX-512 floats)
inline constexpr std::int64_t row_block = 256;   // rows per thread task: a multiple of row_quantum

namespace detail {

// c[0:m, :] (row stride ldc) = alpha * op(a) op(b) + beta * c, single-threaded. op(a) rows start at
// `a`: stored (m, k) with row stride lda, or, when trans_a, stored (k, ·) with row stride lda.
template <class T>
void gemm_block(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
                std::int64_t lda, const T* b, T beta, T* c, std::int64_t ldc) {
  using Index = Eigen::Index;
  using Stride = Eigen::OuterStride<>;
  Eigen::Map<RowMajorMatrix<T>, 0, Stride> cm(c, Index(m), Index(n), Stride(ldc));
  if (k == 0) {
    if (beta == T(0))
      cm.setZero();
    else if (beta != T(1))
      cm *= beta;
    return;
  }
  auto run = [&](const auto& am, const auto& bm) {
    if (beta == T(0)) {
      cm.noalias() = alpha * (am * bm);
    } else {
      if (beta != T(1)) cm *= beta;
      cm.noalias() += alpha * (am * bm);
    }
  };
  auto with_b = [&](const auto& am) {
    if (trans_b)
      run(am, Eigen::Map<const ColMajorMatrix<T>>(b, Index(k), Index(n)));
    else
      run(am, Eigen::Map<const RowMajorMatrix<T>>(b, Index(k), Index(n)));
  };
  if (trans_a)
    with_b(Eigen::Map<const ColMajorMatrix<T>, 0, Stride>(a, Index(m), Index(k), Stride(lda)));
  else
    with_b(Eigen::Map<const RowMajorMatrix<T>, 0, Stride>(a, Index(m), Index(k), Stride(lda)));
}

// Rows [r0, r0 + rows) of the product; a ragged block of a row-major `a` is computed zero-padded.
template <class T>
void gemm_rows(bool trans_a, bool trans_b, std::int64_t r0, std::int64_t rows, std::int64_t m, std::int64_t n,
               std::int64_t k, T alpha, const T* a, const T* b, T beta, T* c) {
  const T* a_rows = trans_a ? a + r0 : a + r0 * k;
  const std::int64_t lda = trans_a ? m : k;
  if (trans_a || rows % row_quantum == 0)
    return gemm_block(trans_a, trans_b, rows, n, k, alpha, a_rows, lda, b, beta, c + r0 * n, n);
  const std::int64_t padded = (rows / row_quantum + 1) * row_quantum;
  std::vector<T> a_pad(static_cast<std::size_t>(padded * k), T(0));
  std::vector<T> c_pad(static_cast<std::size_t>(padded * n), T(0));
  std::copy(a_rows, a_rows + rows * k, a_pad.begin());
  if (beta != T(0)) std::copy(c + r0 * n, c + (r0 + rows) * n, c_pad.begin());
  gemm_block(false, trans_b, padded, n, k, alpha, a_pad.data(), k, b, beta, c_pad.data(), n);
  std::copy(c_pad.begin(), c_pad.begin() + rows * n, c + r0 * n);
}

}  // namespace detail

// c (m, n) = alpha * op(a) op(b) + beta * c, all row-major and contiguous. op(a) is (m, k): a is
// stored (m, k), or (k, m) when trans_a. op(b) is (k, n): b is stored (k, n), or (n, k) when trans_b.
// beta = 0 ignores c's previous contents (it may be uninitialised). Rows run in blocks of `row_block`
// across OpenMP threads; inside an enclosing parallel region they run on the calling thread.
template <class T>
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a, const T* b,
          T beta, T* c) {
  if (m == 0 || n == 0) return;
  const std::int64_t blocks = (m + row_block - 1) / row_block;
#pragma omp parallel for schedule(dynamic) if (blocks > 1 && m * n * k > (std::int64_t(1) << 18))
  for (std::int64_t i = 0; i < blocks; ++i) {
    const std::int64_t r0 = i * row_block;
    detail::gemm_rows(trans_a, trans_b, r0, std::min(row_block, m - r0), m, n, k, alpha, a, b, beta, c);
  }
}

template <class T>
void batched_gemm(std::int64_t batch, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
                  const T* a, std::int64_t stride_a, const T* b, std::int64_t stride_b, T* c) {
  const bool per_thread = batch > 1 && m * n * k < (std::int64_t(1) << 21);
#pragma omp parallel for if (per_thread)
  for (std::int64_t i = 0; i < batch; ++i)
    gemm(trans_a, trans_b, m, n, k, T(1), a + i * stride_a, b + i * stride_b, T(0), c + i * m * n);
}

// y (rows, out) = x (rows, in) wᵀ + bias, with w (out, in) and bias (out) or null. The bias is written
// first and the GEMM accumulates onto it, so y is traversed once.
template <class T>
void linear(std::int64_t rows, std::int64_t in, std::int64_t out, const T* x, const T* w, const T* bias, T* y) {
  if (bias) {
#pragma omp parallel for if (rows * out > parallel_grain)
    for (std::int64_t r = 0; r < rows; ++r) std::copy(bias, bias + out, y + r * out);
  }
  gemm(false, true, rows, out, in, T(1), x, w, bias ? T(1) : T(0), y);
}

}  // namespace pixsyn::backend::eigen
