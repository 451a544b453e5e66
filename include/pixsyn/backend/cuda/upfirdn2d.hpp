#pragma once
// upfirdn2d on the GPU (declarations; the kernels are in src/cuda/upfirdn2d.cu): every output pixel sums the
// filter taps that land on input samples, as the CPU kernel (backend/eigen/upfirdn2d.hpp) does.
#include <cstdint>

#include "pixsyn/backend/fir_geometry.hpp"

namespace pixsyn::backend::cuda {

// y (planes, out_h, out_w) = upfirdn2d(x (planes, in_h, in_w), f (taps_y, taps_x)); f on the device.
void upfirdn2d(const FirGeometry& g, const float* x, const float* f, float* y);
void upfirdn2d(const FirGeometry& g, const double* x, const double* f, double* y);

// What the filtered value v of plane p becomes before it is stored (inference): with u = v + bias[p mod
// channels], clamp(u · (u > 0 ? gain : slope_gain), lo, hi): bias_leaky_relu along the channels of planes
// (B · C), the same operations as the elementwise kernel's (backend/cuda/elementwise.hpp), so equal bit for bit.
template <class T>
struct FirBiasLeakyRelu {
  const T* bias;  // (channels), on the device
  std::int64_t channels;
  T gain, slope_gain, lo, hi;
};
void upfirdn2d(const FirGeometry& g, const float* x, const float* f, const FirBiasLeakyRelu<float>& act, float* y);
void upfirdn2d(const FirGeometry& g, const double* x, const double* f, const FirBiasLeakyRelu<double>& act,
               double* y);

}  // namespace pixsyn::backend::cuda
