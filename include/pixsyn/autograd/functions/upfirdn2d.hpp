#pragma once
// upfirdn2d (and the upsample2d / downsample2d / filter2d wrappers) on Var. The filter is a constant; the
// op is linear in x and its adjoint is another upfirdn2d pass (up and down swapped, the filter flipped),
// whose own adjoint is the pass again, so every order of derivative is available.
#include <vector>

#include "pixsyn/autograd/var.hpp"
#include "pixsyn/ops/upfirdn2d.hpp"

namespace pixsyn {

namespace detail {

template <class T, class D>
Var<T, D> fir_pass(const Var<T, D>& x, const Tensor<T, D>& f, const backend::FirGeometry& g) {
  return autograd::detail::record<T, D>("upfirdn2d", fir_pass(x.value(), f, g), {x},
                                        [f, g](const Var<T, D>& gy, const auto&, const auto&) {
                                          return std::vector<Var<T, D>>{fir_pass(gy, f, fir_adjoint(g))};
                                        });
}

}  // namespace detail

template <class T, class D>
Var<T, D> upfirdn2d(const Var<T, D>& x, const Tensor<T, D>& f, Upfirdn2dOptions options = {}) {
  Var<T, D> y = x;
  for (const auto& g : detail::fir_passes(x.shape(), f.shape(), options)) y = detail::fir_pass(y, f, g);
  return y;
}

}  // namespace pixsyn
