#pragma once
// The modulated fully connected layer (StyleGAN2's modulated 1×1 convolution) on Tensor: the fused kernel, and
// styled_fc, the whole styled layer (modulated FC, noise, bias, leaky ReLU).
#include "pixsyn/backend/cuda/modulated_fc.hpp"
#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/backend/eigen/modulated_fc.hpp"
#include "pixsyn/core/tensor.hpp"
#include "pixsyn/ops/activation.hpp"
#include "pixsyn/ops/arithmetic.hpp"
#include "pixsyn/ops/shape.hpp"

namespace pixsyn {

struct ModulatedFcOptions {
  bool demodulate = true;
  double eps = 1e-8;  // added inside the demodulation rsqrt
};

// StyleGAN2's styled layer: the modulated FC, then + noise · noise_weight, then bias + leaky ReLU.
struct StyledFcOptions {
  ModulatedFcOptions fc{};
  LeakyReluOptions activation{};
};

namespace detail {
inline void check_modulated_fc(const Shape& x, const Shape& w, const Shape& s) {
  check(x.rank() == 3 && w.rank() == 2 && s.rank() == 2,
        "modulated_fc: expects x (B, P, I), weight (O, I) and styles (B, I); got x ", x, ", weight ", w, ", styles ",
        s);
  check(w[1] == x[2], "modulated_fc: weight ", w, " takes ", w[1], " input channels but x ", x, " has ", x[2]);
  check((s[0] == x[0] || x[0] == 1) && s[1] == x[2], "modulated_fc: styles ", s, " do not match x ", x, " (expected (",
        x[0], ", ", x[2], "))");
}

// x (1, P, I) spread over the batch of the styles, or x itself.
template <class T, class D>
Tensor<T, D> batch_of_styles(const Tensor<T, D>& x, const Tensor<T, D>& s) {
  return x.dim(0) == s.dim(0) ? x : broadcast_to(x, Shape{s.dim(0), x.dim(1), x.dim(2)});
}
}  // namespace detail

// y[b, p, o] = d[b, o] Σ_i W[o, i] s[b, i] x[b, p, i] for channels-last pixels x (B, P, I), or (1, P, I) shared
// by the batch, the shared weight W (O, I) (runtime scale included) and styles s (B, I);
// d[b, o] = rsqrt(Σ_i (W[o, i] s[b, i])² + eps) when demodulating, else 1. Returns (B, P, O).
template <class T>
Tensor<T, Cpu> modulated_fc(const Tensor<T, Cpu>& x, const Tensor<T, Cpu>& w, const Tensor<T, Cpu>& s,
                            ModulatedFcOptions options = {}) {
  detail::check_modulated_fc(x.shape(), w.shape(), s.shape());
  return backend::eigen::modulated_fc(detail::batch_of_styles(x, s), w, s, options.demodulate,
                                      static_cast<T>(options.eps));
}

template <class T>
Tensor<T, Cuda> modulated_fc(const Tensor<T, Cuda>& x, const Tensor<T, Cuda>& w, const Tensor<T, Cuda>& s,
                             ModulatedFcOptions options = {}) {
  detail::check_modulated_fc(x.shape(), w.shape(), s.shape());
  // A shared x (1, P, I) is read for every sample in place: a copy per sample would be the largest tensor of
  // CIPS training (B, P, 2·hidden).
  auto y = Tensor<T, Cuda>::empty({s.dim(0), x.dim(1), w.dim(0)});
  backend::cuda::modulated_fc(s.dim(0), x.dim(1), x.dim(2), w.dim(0), x.data(), x.dim(0) != s.dim(0), w.data(),
                              s.data(), options.demodulate, static_cast<T>(options.eps), y.data());
  return y;
}

namespace detail {
// The noise of styled_fc against the modulated FC's output y (B, P, O).
template <class T, class D>
void check_styled_noise(const Shape& y, const Tensor<T, D>& noise, const Tensor<T, D>& noise_weight) {
  if (!noise.defined()) return;
  check(noise.shape() == Shape{y[0], y[1], 1}, "styled_fc: noise ", noise.shape(), " does not match the layer's (",
        y[0], ", ", y[1], ") points (expected (", y[0], ", ", y[1], ", 1))");
  check(noise_weight.shape() == Shape{1}, "styled_fc: the noise weight has shape ", noise_weight.shape(),
        "; expected (1)");
}
}  // namespace detail

// bias_leaky_relu(modulated_fc(x, w, s) + noise · noise_weight, bias) along the channels: x (B, P, I) or
// (1, P, I), noise (B, P, 1) with noise_weight (1), or both undefined; bias (O). Returns (B, P, O).
template <class T, class D>
Tensor<T, D> styled_fc(const Tensor<T, D>& x, const Tensor<T, D>& w, const Tensor<T, D>& s, const Tensor<T, D>& noise,
                       const Tensor<T, D>& noise_weight, const Tensor<T, D>& bias,
                       const StyledFcOptions& options = {}) {
  Tensor<T, D> y = modulated_fc(x, w, s, options.fc);
  detail::check_styled_noise(y.shape(), noise, noise_weight);
  if (noise.defined()) y = add(y, mul(noise, noise_weight));
  return bias_leaky_relu(y, bias, -1, options.activation);
}

}  // namespace pixsyn
