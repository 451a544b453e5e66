#pragma once
// The fused modulated FC kernel on the CPU (CIPS's 1×1 modulated convolution over channels-last pixels).
#include <cmath>
#include <cstdint>

#include "pixsyn/backend/eigen/elementwise.hpp"
#include "pixsyn/backend/eigen/gemm.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::backend::eigen {

// y[b, p, o] = d[b, o] Σ_i w[o, i] s[b, i] x[b, p, i] for x (B, P, I), w (O, I), s (B, I), where
// d = rsqrt((s∘s)(w∘w)ᵀ + eps) when demodulating, else 1. Style and demodulation are folded into
// per-sample weights (B, O, I): far smaller than x when P ≫ I, and they leave exactly one GEMM per
// sample with no extra pass over x or y.
template <class T>
Tensor<T, Cpu> modulated_fc(const Tensor<T, Cpu>& x, const Tensor<T, Cpu>& w, const Tensor<T, Cpu>& s, bool demodulate,
                            T eps) {
  const std::int64_t batch = x.dim(0), pixels = x.dim(1), in = x.dim(2), out = w.dim(0);
  const T* pw = w.data();
  const T* ps = s.data();
  auto d = Tensor<T, Cpu>::ones({batch, out});
  if (demodulate) {
    const auto s2 = unary_map(s, [](T v) { return v * v; });
    const auto w2 = unary_map(w, [](T v) { return v * v; });
    gemm(false, true, batch, out, in, T(1), s2.data(), w2.data(), T(0), d.data());
    T* pd = d.data();
    for (std::int64_t i = 0; i < batch * out; ++i) pd[i] = T(1) / std::sqrt(pd[i] + eps);
  }
  auto wb = Tensor<T, Cpu>::empty({batch, out, in});
  T* pwb = wb.data();
  const T* pd = d.data();
#pragma omp parallel for collapse(2) if (batch * out * in > parallel_grain)
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t o = 0; o < out; ++o) {
      const T scale = pd[b * out + o];
      const T* row = pw + o * in;
      const T* style = ps + b * in;
      T* dst = pwb + (b * out + o) * in;
      for (std::int64_t i = 0; i < in; ++i) dst[i] = scale * row[i] * style[i];
    }
  auto y = Tensor<T, Cpu>::empty({batch, pixels, out});
  batched_gemm(batch, false, true, pixels, out, in, x.data(), pixels * in, pwb, out * in, y.data());
  return y;
}

}  // namespace pixsyn::backend::eigen
