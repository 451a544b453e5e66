#pragma once
// 2-D convolutions on the GPU (declarations; kernels in src/cuda/conv.cu): im2col into a workspace, then
// cuBLAS strided-batched GEMMs, as the CPU path (backend/eigen/conv.hpp) computes them. No cuDNN.
#include "pixsyn/backend/conv_geometry.hpp"
#include "pixsyn/backend/cuda/bias_leaky_relu.hpp"
#include "pixsyn/backend/cuda/fast_render.hpp"

namespace pixsyn::backend::cuda {

// The precision of the float convolutions that name none (the ops layer's conv2d and conv_transpose2d) on
// this thread: fp32 unless a ConvPrecisionScope says otherwise. For inference (bench_alis_gpu's bf16 rows):
// the ops' gradients are not written for bf16's rounding.
Precision conv_precision();
class ConvPrecisionScope {
 public:
  explicit ConvPrecisionScope(Precision precision);
  ~ConvPrecisionScope();
  ConvPrecisionScope(const ConvPrecisionScope&) = delete;
  ConvPrecisionScope& operator=(const ConvPrecisionScope&) = delete;

 private:
  Precision previous_;
};

// y (B, O, Ho, Wo) = conv2d(x (B, I, H, W), w): cross-correlation with zero padding (torch's conv2d).
// fp32 runs SGEMM; Precision::bf16 rounds x and w to bf16 and accumulates in fp32 on the tensor cores.
void conv2d(const ConvGeometry& g, const float* x, const float* w, float* y, Precision precision);
void conv2d(const ConvGeometry& g, const float* x, const float* w, float* y);  // conv_precision()
void conv2d(const ConvGeometry& g, const double* x, const double* w, double* y);
// The same of x read through bias_leaky_relu along its channels (x_activation.bias set) and then scaled per
// (sample, channel, column) (column_scale (B, I, W), or nullptr): x'[b, i, r, c] = act(x[b, i, r, c]) ·
// column_scale[b, i, c], formed as the convolution reads x (inference: ALIS's spatially aligned modulation and the
// previous layer's activation). The values the elementwise ops would write, so equal to the unfused ops bit for bit.
void conv2d(const ConvGeometry& g, const float* x, const BiasLeakyRelu<float>& x_activation, const float* column_scale,
            const float* w, float* y, Precision precision);
void conv2d(const ConvGeometry& g, const float* x, const BiasLeakyRelu<float>& x_activation, const float* column_scale,
            const float* w, float* y);  // conv_precision()
void conv2d(const ConvGeometry& g, const double* x, const BiasLeakyRelu<double>& x_activation,
            const double* column_scale, const double* w, double* y);

// dx (B, I, H, W) = the adjoint of conv2d applied to dy (B, O, Ho, Wo): conv2d's input gradient and
// conv_transpose2d. Precision as for conv2d.
void conv2d_input_grad(const ConvGeometry& g, const float* dy, const float* w, float* dx, Precision precision);
void conv2d_input_grad(const ConvGeometry& g, const float* dy, const float* w, float* dx);  // conv_precision()
void conv2d_input_grad(const ConvGeometry& g, const double* dy, const double* w, double* dx);

// dw = conv2d's weight gradient: (O, I, kh, kw) summed over the batch, or (B, O, I, kh, kw) per sample.
void conv2d_weight_grad(const ConvGeometry& g, const float* x, const float* dy, float* dw);
void conv2d_weight_grad(const ConvGeometry& g, const double* x, const double* dy, double* dw);

}  // namespace pixsyn::backend::cuda
