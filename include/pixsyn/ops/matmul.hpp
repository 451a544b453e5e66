#pragma once
// matmul (plain, batched, and batched with a shared right operand) and linear on Tensor.
#include <cstdint>

#include "pixsyn/backend/cuda/gemm.hpp"
#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/backend/eigen/gemm.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn {

namespace detail {

struct MatmulGeometry {
  std::int64_t batch = 1, m = 0, k = 0, n = 0;
  bool shared_b = false;  // a (B, m, k) times one b (k, n)
  Shape out;
};

inline MatmulGeometry matmul_geometry(const Shape& a, const Shape& b) {
  check((a.rank() == 2 && b.rank() == 2) || (a.rank() == 3 && (b.rank() == 2 || b.rank() == 3)),
        "matmul: expects a (m, k) or (B, m, k) and b (k, n), or (B, k, n) when a is batched; got a ", a, " and b ", b);
  MatmulGeometry g;
  g.m = a[-2];
  g.k = a[-1];
  g.n = b[-1];
  check(b[-2] == g.k, "matmul: inner dimensions differ: a ", a, " has ", g.k, " columns but b ", b, " has ", b[-2],
        " rows");
  if (a.rank() == 3 && b.rank() == 3) {
    check(a[0] == b[0], "matmul: batch sizes differ: a ", a, " has ", a[0], " but b ", b, " has ", b[0]);
    g.batch = a[0];
    g.out = Shape{g.batch, g.m, g.n};
  } else if (a.rank() == 3) {
    g.shared_b = true;
    g.batch = a[0];
    g.out = Shape{g.batch, g.m, g.n};
  } else {
    g.out = Shape{g.m, g.n};
  }
  return g;
}

// The number of rows of x viewed as a matrix (..., last).
inline std::int64_t leading_rows(const Shape& x) {
  std::int64_t rows = 1;
  for (int a = 0; a + 1 < x.rank(); ++a) rows *= x[a];
  return rows;
}

// Rows of x (..., in) for linear, with the checks of W (out, in) and bias (out) or undefined.
template <class T, class D>
std::int64_t linear_rows(const Shape& x, const Shape& w, const Tensor<T, D>& bias) {
  check(w.rank() == 2, "linear: weight must be (out, in), got ", w);
  check(x.rank() >= 1 && x[-1] == w[1], "linear: input ", x, " does not end in the weight's in = ", w[1], " (weight ",
        w, ")");
  check(!bias.defined() || (bias.rank() == 1 && bias.dim(0) == w[0]), "linear: bias ", bias.shape(),
        " does not match the weight's out = ", w[0], " (weight ", w, ")");
  return leading_rows(x);
}

inline Shape linear_shape(const Shape& x, std::int64_t out) {
  Shape s;
  for (int a = 0; a + 1 < x.rank(); ++a) s.push_back(x[a]);
  s.push_back(out);
  return s;
}

}  // namespace detail

// a (m, k) × b (k, n) -> (m, n); a (B, m, k) × b (B, k, n) -> (B, m, n); a (B, m, k) × b (k, n) -> (B, m, n).
template <class T>
Tensor<T, Cpu> matmul(const Tensor<T, Cpu>& a, const Tensor<T, Cpu>& b) {
  const auto g = detail::matmul_geometry(a.shape(), b.shape());
  auto out = Tensor<T, Cpu>::empty(g.out);
  if (g.shared_b) {
    // One GEMM over the stacked rows of every batch entry.
    backend::eigen::gemm(false, false, g.batch * g.m, g.n, g.k, T(1), a.data(), b.data(), T(0), out.data());
  } else {
    backend::eigen::batched_gemm(g.batch, false, false, g.m, g.n, g.k, a.data(), g.m * g.k, b.data(), g.k * g.n,
                                 out.data());
  }
  return out;
}

template <class T>
Tensor<T, Cuda> matmul(const Tensor<T, Cuda>& a, const Tensor<T, Cuda>& b) {
  const auto g = detail::matmul_geometry(a.shape(), b.shape());
  auto out = Tensor<T, Cuda>::empty(g.out);
  if (g.shared_b)
    backend::cuda::batched_gemm(1, false, false, g.batch * g.m, g.n, g.k, a.data(), 0, b.data(), 0, out.data());
  else
    backend::cuda::batched_gemm(g.batch, false, false, g.m, g.n, g.k, a.data(), g.m * g.k, b.data(), g.k * g.n,
                                out.data());
  return out;
}

// y = x Wᵀ + bias for x (..., in), W (out, in) and bias (out) or an undefined tensor (no bias).
template <class T>
Tensor<T, Cpu> linear(const Tensor<T, Cpu>& x, const Tensor<T, Cpu>& w, const Tensor<T, Cpu>& bias = {}) {
  const std::int64_t rows = detail::linear_rows(x.shape(), w.shape(), bias);
  const std::int64_t in = w.dim(1), out_features = w.dim(0);
  auto y = Tensor<T, Cpu>::empty(detail::linear_shape(x.shape(), out_features));
  backend::eigen::linear(rows, in, out_features, x.data(), w.data(), bias.defined() ? bias.data() : nullptr, y.data());
  return y;
}

template <class T>
Tensor<T, Cuda> linear(const Tensor<T, Cuda>& x, const Tensor<T, Cuda>& w, const Tensor<T, Cuda>& bias = {}) {
  const std::int64_t rows = detail::linear_rows(x.shape(), w.shape(), bias);
  auto y = Tensor<T, Cuda>::empty(detail::linear_shape(x.shape(), w.dim(0)));
  backend::cuda::linear(rows, w.dim(1), w.dim(0), x.data(), w.data(), bias.defined() ? bias.data() : nullptr, y.data());
  return y;
}

}  // namespace pixsyn
