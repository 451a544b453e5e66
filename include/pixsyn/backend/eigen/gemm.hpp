#pragma once
// GEMM on the CPU through Eigen maps over row-major buffers. A transposed operand is read as a
// column-major map of the same memory, so transposes cost nothing. Eigen's GEMM runs on OpenMP
// threads when compiled with -fopenmp, and on one thread inside an enclosing parallel region.
#include <algorithm>
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "pixsyn/backend/eigen/elementwise.hpp"

namespace pixsyn::backend::eigen {

template <class T>
using RowMajorMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using ColMajorMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

// c (m, n) = alpha * op(a) op(b) + beta * c, all row-major and contiguous. op(a) is (m, k): a is
// stored (m, k), or (k, m) when trans_a. op(b) is (k, n): b is stored (k, n), or (n, k) when trans_b.
// beta = 0 ignores c's previous contents (it may be uninitialised).
template <class T>
void gemm_unpadded(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
                   const T* b, T beta, T* c) {
  using Index = Eigen::Index;
  Eigen::Map<RowMajorMatrix<T>> cm(c, static_cast<Index>(m), static_cast<Index>(n));
  if (m == 0 || n == 0) return;
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
      run(am, Eigen::Map<const ColMajorMatrix<T>>(b, static_cast<Index>(k), static_cast<Index>(n)));
    else
      run(am, Eigen::Map<const RowMajorMatrix<T>>(b, static_cast<Index>(k), static_cast<Index>(n)));
  };
  if (trans_a)
    with_b(Eigen::Map<const ColMajorMatrix<T>>(a, static_cast<Index>(m), static_cast<Index>(k)));
  else
    with_b(Eigen::Map<const RowMajorMatrix<T>>(a, static_cast<Index>(m), static_cast<Index>(k)));
}

// Eigen computes rows that fill a SIMD packet with its vector kernels and the last m % packet rows with
// scalar code, which rounds differently. So that a row of the result never depends on how many rows
// share the call (a tiled render must equal the one-shot render bit for bit), the ragged tail of a
// row-major product is computed through a zero-padded block of `row_quantum` rows.
inline constexpr std::int64_t row_quantum = 16;

template <class T>
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a, const T* b,
          T beta, T* c) {
  const std::int64_t tail = m % row_quantum;
  if (trans_a || tail == 0 || n == 0) return gemm_unpadded(trans_a, trans_b, m, n, k, alpha, a, b, beta, c);
  const std::int64_t body = m - tail;
  if (body > 0) gemm_unpadded(false, trans_b, body, n, k, alpha, a, b, beta, c);
  std::vector<T> a_pad(static_cast<std::size_t>(row_quantum * k), T(0));
  std::vector<T> c_pad(static_cast<std::size_t>(row_quantum * n), T(0));
  std::copy(a + body * k, a + m * k, a_pad.begin());
  std::copy(c + body * n, c + m * n, c_pad.begin());
  gemm_unpadded(false, trans_b, row_quantum, n, k, alpha, a_pad.data(), b, beta, c_pad.data());
  std::copy(c_pad.begin(), c_pad.begin() + tail * n, c + body * n);
}

// `batch` independent GEMMs c_i = op(a_i) op(b_i) over consecutive (strided) matrices; a stride of 0
// shares that operand. Many small products run one per thread; large ones use Eigen's own threads.
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
