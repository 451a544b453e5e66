#pragma once
// The StyleGAN2 discriminator's convolution layer, written once for both official codes (rosinality's
// ConvLayer/EqualConv2d and SG2-ADA's Conv2dLayer compute the same thing; each discriminator names the
// parts its own way):
//
//   y = clamp(act(conv(x, weight / √(in·k·k)) + bias) · gain, ±clamp · gain)
//
// where act is leaky ReLU(0.2)·√2 or the identity, and a down-sampling layer first blurs x with the
// (4, 4) resample filter, padded so that the stride-2 conv halves the image exactly (the official
// conv2d_resample's down = 2 path, and rosinality's Blur before a strided EqualConv2d).
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "pixsyn/autograd/functions/activation.hpp"
#include "pixsyn/autograd/functions/conv.hpp"
#include "pixsyn/autograd/functions/upfirdn2d.hpp"
#include "pixsyn/core/error.hpp"

namespace pixsyn::nn {

struct EqualConvOptions {
  bool down = false;  // blur with the filter, then a stride-2 conv (H -> H / 2); else "same" padding
  bool lrelu = true;  // leaky ReLU(0.2) · √2 after the bias; else linear
  double gain = 1;    // an extra output factor (SG2-ADA's √0.5 on both resnet branches)
  double clamp = -1;  // SG2-ADA's conv_clamp, itself scaled by gain; negative: off
};

// StyleGAN2's resample filter setup_filter({1, 3, 3, 1}) = outer([1,3,3,1]) / 64, on device D: the buffer
// that both discriminators keep ("kernel", "resample_filter").
template <class T, class D>
Tensor<T, D> resample_filter() {
  if constexpr (std::is_same_v<D, Cuda>)
    return to_device(setup_filter<T>({1, 3, 3, 1}));
  else
    return setup_filter<T>({1, 3, 3, 1});
}

// x (B, I, H, W), weight (O, I, k, k), bias (O) or undefined; filter: the (4, 4) resample filter, used
// only when down-sampling.
template <class V, class T, class D>
V equal_conv2d(const V& x, const Var<T, D>& weight, const Var<T, D>& bias, const Tensor<T, D>& filter,
               const EqualConvOptions& options = {}) {
  const std::int64_t k = weight.dim(2);
  pixsyn::detail::check(weight.rank() == 4 && weight.dim(3) == k && k % 2 == 1, "equal_conv2d: weight of shape ",
                        weight.shape(), " is not (O, I, k, k) with an odd k");
  const auto scale = static_cast<T>(1 / std::sqrt(static_cast<double>(weight.dim(1) * k * k)));
  const V w = mul(as_value<V>(weight), scale);
  V y;
  if (options.down) {
    pixsyn::detail::check(filter.rank() == 2, "equal_conv2d: a down-sampling layer needs a 2-D filter, got ",
                          filter.shape());
    // Total padding (taps - 2) + (k - 1) puts the blurred, strided samples on the centres of 2x2 cells.
    const std::int64_t pad = (filter.dim(1) - 2) + (k - 1);
    y = upfirdn2d(
        x, filter,
        Upfirdn2dOptions{.pad_x0 = (pad + 1) / 2, .pad_x1 = pad / 2, .pad_y0 = (pad + 1) / 2, .pad_y1 = pad / 2});
    y = conv2d(y, w, Conv2dOptions{.stride = 2});
  } else {
    y = conv2d(x, w, Conv2dOptions{.padding = k / 2});
  }
  const LeakyReluOptions act{.slope = options.lrelu ? 0.2 : 1.0,
                             .gain = (options.lrelu ? std::sqrt(2.0) : 1.0) * options.gain,
                             .clamp = options.clamp >= 0 ? options.clamp * options.gain : -1.0};
  if (bias.defined()) return bias_leaky_relu(y, as_value<V>(bias), 1, act);
  if (act.slope == 1 && act.gain == 1 && act.clamp < 0) return y;
  return leaky_relu(y, act);
}

}  // namespace pixsyn::nn
