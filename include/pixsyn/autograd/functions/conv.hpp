#pragma once
// conv2d, conv_transpose2d, conv2d_weight_grad and modulate_weight on Var. The three convolution kernels
// of one geometry (the convolution, its adjoint and its weight gradient) are bilinear, and each one's
// backward rule is made of the other two, so every order of derivative is available (R1 differentiates
// the discriminator's input gradient once more).
#include "pixsyn/autograd/functions/arithmetic.hpp"
#include "pixsyn/autograd/functions/math.hpp"
#include "pixsyn/autograd/functions/reduce.hpp"
#include "pixsyn/autograd/var.hpp"
#include "pixsyn/ops/conv.hpp"

namespace pixsyn {

namespace detail {

template <class T, class D>
Var<T, D> conv_adjoint(const Var<T, D>& dy, const Var<T, D>& w, const backend::ConvGeometry& g);
template <class T, class D>
Var<T, D> conv_weight_grad(const Var<T, D>& x, const Var<T, D>& dy, const backend::ConvGeometry& g);

template <class T, class D>
Var<T, D> conv_forward(const Var<T, D>& x, const Var<T, D>& w, const backend::ConvGeometry& g) {
  return autograd::detail::record<T, D>(
      "conv2d", conv_forward(x.value(), w.value(), g), {x, w}, [g](const Var<T, D>& gy, const auto& in, const auto&) {
        return std::vector<Var<T, D>>{in[0].requires_grad() ? conv_adjoint(gy, in[1], g) : Var<T, D>(),
                                      in[1].requires_grad() ? conv_weight_grad(in[0], gy, g) : Var<T, D>()};
      });
}

template <class T, class D>
Var<T, D> conv_adjoint(const Var<T, D>& dy, const Var<T, D>& w, const backend::ConvGeometry& g) {
  return autograd::detail::record<T, D>("conv_transpose2d", conv_adjoint(dy.value(), w.value(), g), {dy, w},
                                        [g](const Var<T, D>& gx, const auto& in, const auto&) {
                                          return std::vector<Var<T, D>>{
                                              in[0].requires_grad() ? conv_forward(gx, in[1], g) : Var<T, D>(),
                                              in[1].requires_grad() ? conv_weight_grad(gx, in[0], g) : Var<T, D>()};
                                        });
}

template <class T, class D>
Var<T, D> conv_weight_grad(const Var<T, D>& x, const Var<T, D>& dy, const backend::ConvGeometry& g) {
  return autograd::detail::record<T, D>("conv2d_weight_grad", conv_weight_grad(x.value(), dy.value(), g), {x, dy},
                                        [g](const Var<T, D>& gw, const auto& in, const auto&) {
                                          return std::vector<Var<T, D>>{
                                              in[0].requires_grad() ? conv_adjoint(in[1], gw, g) : Var<T, D>(),
                                              in[1].requires_grad() ? conv_forward(in[0], gw, g) : Var<T, D>()};
                                        });
}

}  // namespace detail

template <class T, class D>
Var<T, D> conv2d(const Var<T, D>& x, const Var<T, D>& w, Conv2dOptions options = {}) {
  return detail::conv_forward(x, w, detail::conv2d_geometry(x.shape(), w.shape(), options));
}

template <class T, class D>
Var<T, D> conv_transpose2d(const Var<T, D>& x, const Var<T, D>& w, ConvTranspose2dOptions options = {}) {
  return detail::conv_adjoint(x, w, detail::conv_transpose2d_geometry(x.shape(), w.shape(), options));
}

template <class T, class D>
Var<T, D> conv2d_weight_grad(const Var<T, D>& x, const Var<T, D>& dy, const Shape& weight_shape,
                             Conv2dOptions options = {}) {
  return detail::conv_weight_grad(x, dy,
                                  detail::conv2d_weight_grad_geometry(x.shape(), dy.shape(), weight_shape, options));
}

}  // namespace pixsyn
