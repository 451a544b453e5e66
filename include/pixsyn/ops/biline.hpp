#pragma once
// biline_compose on Tensor (CPU and CUDA): CREPS's composition of thick bi-lines at (row, column) index
// pairs, the fused kernel. A grid is the set of all pairs; arbitrary points are the diagonal (row k, column k).
#include <cstdint>

#include "pixsyn/backend/cuda/biline.hpp"
#include "pixsyn/backend/eigen/biline.hpp"
#include "pixsyn/core/tensor.hpp"
#include "pixsyn/ops/layout.hpp"

namespace pixsyn {

namespace detail {
inline void check_biline_compose(const Shape& u, const Shape& v, const Tensor<std::int64_t, Cpu>& rows,
                                 const Tensor<std::int64_t, Cpu>& cols) {
  check(u.rank() == 4 && v.rank() == 4, "biline_compose: expects row embeddings (B, H, D, K) and column embeddings ",
        "(B, W, D, K); got ", u, " and ", v);
  check(u[0] == v[0] && u[2] == v[2] && u[3] == v[3], "biline_compose: row embeddings ", u, " and column embeddings ",
        v, " differ in batch, thickness or channels");
  check(rows.rank() == 1 && cols.rank() == 1 && rows.numel() == cols.numel(),
        "biline_compose: row and column indices must be 1-D and of one length, got ", rows.shape(), " and ",
        cols.shape());
  check_index(rows, u[1], u, 1, "biline_compose (rows)");
  check_index(cols, v[1], v, 1, "biline_compose (columns)");
}
}  // namespace detail

// out[b, p, k] = Σ_d u[b, rows[p], d, k] v[b, cols[p], d, k]: u (B, H, D, K), v (B, W, D, K), rows and
// cols (P) -> (B, P, K).
template <class T>
Tensor<T, Cpu> biline_compose(const Tensor<T, Cpu>& u, const Tensor<T, Cpu>& v, const Tensor<std::int64_t, Cpu>& rows,
                              const Tensor<std::int64_t, Cpu>& cols) {
  detail::check_biline_compose(u.shape(), v.shape(), rows, cols);
  return backend::eigen::biline_compose(u, v, rows.data(), cols.data(), rows.numel());
}

// The same on the GPU; the indices are CPU tensors (checked on the host, then copied).
template <class T>
Tensor<T, Cuda> biline_compose(const Tensor<T, Cuda>& u, const Tensor<T, Cuda>& v,
                               const Tensor<std::int64_t, Cpu>& rows, const Tensor<std::int64_t, Cpu>& cols) {
  detail::check_biline_compose(u.shape(), v.shape(), rows, cols);
  auto out = Tensor<T, Cuda>::empty({u.dim(0), rows.numel(), u.dim(3)});
  const auto r = detail::index_on<Cuda>(rows), c = detail::index_on<Cuda>(cols);
  backend::cuda::biline_compose(u.dim(0), u.dim(1), v.dim(1), u.dim(2), u.dim(3), u.data(), v.data(), r.data(),
                                c.data(), rows.numel(), out.data());
  return out;
}

}  // namespace pixsyn
