#pragma once
// Leaky ReLU with gain and clamp (StyleGAN2's bias_act), alone and fused with a bias add, on the CPU.
#include <cstdint>
#include <limits>

#include "pixsyn/backend/eigen/elementwise.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::backend::eigen {

// y = clamp(lrelu(v) * gain, lo, hi); lo/hi are infinite when clamping is off, so the loop needs no test for it.
template <class T>
struct LeakyRelu {
  T gain, slope_gain, lo, hi;
  bool clamped;

  LeakyRelu(double slope, double gain_, double clamp)
      : gain(static_cast<T>(gain_)),
        slope_gain(static_cast<T>(slope * gain_)),
        lo(clamp >= 0 ? static_cast<T>(-clamp) : -std::numeric_limits<T>::infinity()),
        hi(clamp >= 0 ? static_cast<T>(clamp) : std::numeric_limits<T>::infinity()),
        clamped(clamp >= 0) {}

  // Selects rather than branches, so loops over it vectorise; NaN passes through.
  T operator()(T v) const {
    T y = v * (v > 0 ? gain : slope_gain);
    y = y < lo ? lo : y;
    return y > hi ? hi : y;
  }
  // dy/dv read from the output y (gain > 0 and slope >= 0 keep the sign of v); zero where y was clamped.
  T derivative(T y) const {
    if (clamped && !(y > lo && y < hi)) return T(0);
    return y > 0 ? gain : slope_gain;
  }
};

// y = f(x + bias[c]) where c indexes `axis` of x: a single pass over x, parallel over rows when it pays.
template <class T>
Tensor<T, Cpu> bias_leaky_relu(const Tensor<T, Cpu>& x, const Tensor<T, Cpu>& bias, int axis, const LeakyRelu<T>& f) {
  std::int64_t outer = 1, inner = 1;
  for (int a = 0; a < axis; ++a) outer *= x.dim(a);
  for (int a = axis + 1; a < x.rank(); ++a) inner *= x.dim(a);
  const std::int64_t channels = x.dim(axis), n = x.numel();
  auto out = Tensor<T, Cpu>::empty(x.shape());
  const T* in = x.data();
  const T* b = bias.data();
  T* y = out.data();
  if (inner == 1) {  // channels last: each row adds the whole bias vector
#pragma omp parallel for if (n > parallel_grain)
    for (std::int64_t o = 0; o < outer; ++o) {
      const T* xr = in + o * channels;
      T* yr = y + o * channels;
      for (std::int64_t c = 0; c < channels; ++c) yr[c] = f(xr[c] + b[c]);
    }
  } else {  // channels first: each row of `inner` elements adds one bias value
#pragma omp parallel for if (n > parallel_grain)
    for (std::int64_t r = 0; r < outer * channels; ++r) {
      const T bc = b[r % channels];
      const T* xr = in + r * inner;
      T* yr = y + r * inner;
      for (std::int64_t i = 0; i < inner; ++i) yr[i] = f(xr[i] + bc);
    }
  }
  return out;
}

}  // namespace pixsyn::backend::eigen
