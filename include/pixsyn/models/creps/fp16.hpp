#pragma once
// Emulation of the official fp16 refinement blocks (block0, block1 run in fp16 unless
// force_fp32=True; spec creps.md §1.3, §1.8) on the CPU, as the official CUDA path computes them:
//   - the block input is rounded to fp16;
//   - a demodulated layer first rescales its weight rows by (1/sqrt(in)) / max|row| and its styles
//     by 1 / max|styles| (StyleGAN3's guard against fp16 overflow), then folds styles and
//     demodulation into per-sample weights in fp32 and rounds them to fp16;
//   - the GEMM multiplies fp16 values (exact products), accumulates in fp32, rounds to fp16;
//   - bias + activation + gain + clamp run in fp32 on the fp16 values (the bias rounded to fp16)
//     and round once (the bias_act CUDA kernel; its step-by-step reference path rounds after each
//     step instead, see docs/creps.md);
//   - each tores output is widened back and added to the fp32 RGB.
// Inference only: rounding has no useful derivative.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "pixsyn/io/float16.hpp"
#include "pixsyn/models/creps/layers.hpp"
#include "pixsyn/ops/activation.hpp"
#include "pixsyn/ops/matmul.hpp"
#include "pixsyn/ops/permute.hpp"

namespace pixsyn::creps::detail {

template <class T>
T round_half(T v) {
  return static_cast<T>(io::f16_to_float(io::float_to_f16(static_cast<float>(v))));
}

template <class T>
Tensor<T> round_half(const Tensor<T>& x) {
  auto out = Tensor<T>::empty(x.shape());
  for (std::int64_t i = 0; i < x.numel(); ++i) out.data()[i] = round_half(x.data()[i]);
  return out;
}

// The per-sample fp16 weights (B, out, in) of a layer for styles s (B, in).
template <class T>
Tensor<T> fp16_weights(const nn::ModulatedFc<T>& fc, const Tensor<T>& w) {
  Tensor<T> weight = fc.template matrix<Tensor<T>>().clone();
  Tensor<T> s = fc.styles(w).clone();
  const std::int64_t batch = s.dim(0), in = fc.in_channels(), out = fc.out_channels();
  const bool demodulate = fc.spec().demodulate;
  if (demodulate) {
    const T gain = static_cast<T>(1 / std::sqrt(static_cast<double>(in)));
    for (std::int64_t o = 0; o < out; ++o) {
      T* row = weight.data() + o * in;
      T top = 0;
      for (std::int64_t i = 0; i < in; ++i) top = std::max(top, std::abs(row[i]));
      const T scale = gain / top;
      for (std::int64_t i = 0; i < in; ++i) row[i] *= scale;
    }
    for (std::int64_t b = 0; b < batch; ++b) {
      T* style = s.data() + b * in;
      T top = 0;
      for (std::int64_t i = 0; i < in; ++i) top = std::max(top, std::abs(style[i]));
      for (std::int64_t i = 0; i < in; ++i) style[i] /= top;
    }
  }
  auto folded = Tensor<T>::empty({batch, out, in});
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t o = 0; o < out; ++o) {
      T* dst = folded.data() + (b * out + o) * in;
      T norm = 0;
      for (std::int64_t i = 0; i < in; ++i) {
        dst[i] = weight.data()[o * in + i] * s.data()[b * in + i];
        norm += dst[i] * dst[i];
      }
      const T d = demodulate ? T(1) / std::sqrt(norm + static_cast<T>(1e-8)) : T(1);
      for (std::int64_t i = 0; i < in; ++i) dst[i] = round_half(demodulate ? dst[i] * d : dst[i]);
    }
  return folded;
}

// One layer on fp16-valued x (B, P, in) -> fp16-valued (B, P, out).
template <class T>
Tensor<T> fp16_layer(const nn::ModulatedFc<T>& fc, const Tensor<T>& x, const Tensor<T>& w) {
  const Tensor<T> y = round_half(matmul(x, transpose(fp16_weights(fc, w))));
  return round_half(bias_leaky_relu(y, round_half(fc.bias.value()), -1, fc.spec().epilogue));
}

// The refinement blocks on features (B, P, K) with fp32 RGB (B, P, 3) -> RGB.
template <class T>
Tensor<T> refine_fp16(const std::vector<const Block<T>*>& blocks, const Tensor<T>& w, const Tensor<T>& feature,
                      Tensor<T> rgb) {
  Tensor<T> x = round_half(feature);
  for (const Block<T>* block : blocks) {
    x = fp16_layer(*block->fc0, x, w);
    x = fp16_layer(block->fc1, x, w);
    rgb = add(rgb, fp16_layer(block->tores, x, w));
  }
  return rgb;
}

}  // namespace pixsyn::creps::detail
