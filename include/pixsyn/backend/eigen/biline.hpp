#pragma once
// The bi-line composition kernel on the CPU (CREPS): per (sample, pixel) pair, the rank-D inner
// product of a row embedding and a column embedding, channel by channel.
#include <cstdint>

#include "pixsyn/backend/eigen/elementwise.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::backend::eigen {

// out[b, p, k] = Σ_d u[b, rows[p], d, k] v[b, cols[p], d, k] for u (B, H, D, K), v (B, W, D, K) and
// `points` index pairs; channels are the contiguous inner loop.
template <class T>
Tensor<T, Cpu> biline_compose(const Tensor<T, Cpu>& u, const Tensor<T, Cpu>& v, const std::int64_t* rows,
                              const std::int64_t* cols, std::int64_t points) {
  const std::int64_t batch = u.dim(0), height = u.dim(1), width = v.dim(1), thickness = u.dim(2), channels = u.dim(3);
  auto out = Tensor<T, Cpu>::empty({batch, points, channels});
  const T* pu = u.data();
  const T* pv = v.data();
  T* po = out.data();
#pragma omp parallel for collapse(2) if (batch * points * thickness * channels > parallel_grain)
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t p = 0; p < points; ++p) {
      const T* ur = pu + (b * height + rows[p]) * thickness * channels;
      const T* vr = pv + (b * width + cols[p]) * thickness * channels;
      T* o = po + (b * points + p) * channels;
      for (std::int64_t k = 0; k < channels; ++k) o[k] = ur[k] * vr[k];
      for (std::int64_t d = 1; d < thickness; ++d)
        for (std::int64_t k = 0; k < channels; ++k) o[k] += ur[d * channels + k] * vr[d * channels + k];
    }
  return out;
}

}  // namespace pixsyn::backend::eigen
