// Fused Adam and EMA updates (backend/cuda/optim.hpp).
#include "common.cuh"
#include "pixsyn/backend/cuda/optim.hpp"

namespace pixsyn::backend::cuda {

namespace {

// The CPU loop of train::Adam::step, element for element.
template <class T>
__global__ void adam_kernel(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, std::int64_t n, AdamCoefficients c) {
  PIXSYN_GRID_STRIDE(i, n) {
    const double g = grad != nullptr ? static_cast<double>(grad[i]) : 0.0;
    const T m = static_cast<T>(c.beta1 * exp_avg[i] + (1 - c.beta1) * g);
    const T v = static_cast<T>(c.beta2 * exp_avg_sq[i] + (1 - c.beta2) * g * g);
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    param[i] -= static_cast<T>(c.step_size * m / (sqrt(static_cast<double>(v)) / c.correction2_sqrt + c.eps));
  }
}

template <class T>
__global__ void lerp_kernel(T* ema, const T* model, std::int64_t n, T beta) {
  PIXSYN_GRID_STRIDE(i, n) ema[i] = model[i] + beta * (ema[i] - model[i]);
}

}  // namespace

template <class T>
void adam_update(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, std::int64_t n, const AdamCoefficients& c) {
  if (n == 0) return;
  adam_kernel<<<grid_for(n), block_size, 0, stream()>>>(param, grad, exp_avg, exp_avg_sq, n, c);
  check_launch("adam_update");
}

template <class T>
void lerp_toward(T* ema, const T* model, std::int64_t n, T beta) {
  if (n == 0) return;
  lerp_kernel<<<grid_for(n), block_size, 0, stream()>>>(ema, model, n, beta);
  check_launch("lerp_toward");
}

template void adam_update<float>(float*, const float*, float*, float*, std::int64_t, const AdamCoefficients&);
template void adam_update<double>(double*, const double*, double*, double*, std::int64_t, const AdamCoefficients&);
template void lerp_toward<float>(float*, const float*, std::int64_t, float);
template void lerp_toward<double>(double*, const double*, std::int64_t, double);

}  // namespace pixsyn::backend::cuda
