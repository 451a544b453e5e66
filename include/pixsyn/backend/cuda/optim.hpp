#pragma once
// The optimizer's and the EMA's parameter updates on the GPU (src/cuda/optim.cu): one fused pass per
// tensor, in the arithmetic of train/'s CPU loops (moments and step in double, stored as T), so that
// double-precision runs on both devices agree to rounding.
#include <cstdint>

#include "pixsyn/backend/cuda/runtime.hpp"

namespace pixsyn::backend::cuda {

struct AdamCoefficients {
  double beta1 = 0, beta2 = 0, eps = 0;
  double step_size = 0;         // lr / (1 - beta1^step)
  double correction2_sqrt = 1;  // sqrt(1 - beta2^step)
};

// torch.optim.Adam's update of n values in place; grad == nullptr: a zero gradient.
template <class T>
void adam_update(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, std::int64_t n, const AdamCoefficients& c);

// ema <- model + beta (ema - model), n values.
template <class T>
void lerp_toward(T* ema, const T* model, std::int64_t n, T beta);

}  // namespace pixsyn::backend::cuda
