#pragma once
// The modulated FC layer on the GPU (declarations; kernels in src/cuda/modulated_fc.cu).
#include <cstdint>

namespace pixsyn::backend::cuda {

// y[b, p, o] = d[b, o] Σ_i w[o, i] s[b, i] x[b, p, i] for x (B, P, I) (or (1, P, I) read for every sample when
// x_shared), w (O, I), s (B, I), y (B, P, O); d = rsqrt(Σ_i (w[o, i] s[b, i])² + eps) when demodulating, else 1.
// The style and demodulation are folded into per-sample weights (B, O, I), then one strided-batched GEMM runs
// over the pixels (a shared x at batch stride 0: no copy per sample).
void modulated_fc(std::int64_t batch, std::int64_t pixels, std::int64_t in, std::int64_t out, const float* x,
                  bool x_shared, const float* w, const float* s, bool demodulate, float eps, float* y);
void modulated_fc(std::int64_t batch, std::int64_t pixels, std::int64_t in, std::int64_t out, const double* x,
                  bool x_shared, const double* w, const double* s, bool demodulate, double eps, double* y);

}  // namespace pixsyn::backend::cuda
