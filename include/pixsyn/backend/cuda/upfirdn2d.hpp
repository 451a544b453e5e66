#pragma once
// upfirdn2d on the GPU (declarations; the kernels are in src/cuda/upfirdn2d.cu): every output pixel sums the
// filter taps that land on input samples, as the CPU kernel (backend/eigen/upfirdn2d.hpp) does.
#include <cstdint>

#include "pixsyn/backend/cuda/bias_leaky_relu.hpp"
#include "pixsyn/backend/fir_geometry.hpp"

namespace pixsyn::backend::cuda {

// y (planes, out_h, out_w) = upfirdn2d(x (planes, in_h, in_w), f (taps_y, taps_x)); f on the device.
void upfirdn2d(const FirGeometry& g, const float* x, const float* f, float* y);
void upfirdn2d(const FirGeometry& g, const double* x, const double* f, double* y);

// The same with bias_leaky_relu along the channels of the planes (B · C; plane p in channel p mod act.channels)
// applied to every output as it is stored (inference).
void upfirdn2d(const FirGeometry& g, const float* x, const float* f, const BiasLeakyRelu<float>& act, float* y);
void upfirdn2d(const FirGeometry& g, const double* x, const double* f, const BiasLeakyRelu<double>& act, double* y);

}  // namespace pixsyn::backend::cuda
