#pragma once
// sum, mean, sum_to, broadcast_to and reshape on Var: each is the other's adjoint.
#include "pixsyn/autograd/var.hpp"
#include "pixsyn/ops/reduce.hpp"
#include "pixsyn/ops/shape.hpp"

namespace pixsyn {

template <class T, class D>
Var<T, D> reshape(const Var<T, D>& x, const Shape& shape) {
  return autograd::detail::record<T, D>("reshape", reshape(x.value(), shape), {x},
                                        [](const Var<T, D>& g, const auto& in, const auto&) {
                                          return std::vector<Var<T, D>>{reshape(g, in[0].shape())};
                                        });
}

template <class T, class D>
Var<T, D> sum_to(const Var<T, D>& x, const Shape& shape);

template <class T, class D>
Var<T, D> broadcast_to(const Var<T, D>& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  return autograd::detail::record<T, D>(
      "broadcast_to", broadcast_to(x.value(), shape), {x},
      [](const Var<T, D>& g, const auto& in, const auto&) { return std::vector<Var<T, D>>{sum_to(g, in[0].shape())}; });
}

template <class T, class D>
Var<T, D> sum_to(const Var<T, D>& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  return autograd::detail::record<T, D>("sum_to", sum_to(x.value(), shape), {x},
                                        [](const Var<T, D>& g, const auto& in, const auto&) {
                                          return std::vector<Var<T, D>>{broadcast_to(g, in[0].shape())};
                                        });
}

template <class T, class D>
Var<T, D> sum(const Var<T, D>& x, const Axes& axes = {}, bool keepdim = false) {
  const auto flags = detail::reduced_axes(x.shape(), axes, "sum");
  const Shape kept = detail::reduced_shape(x.shape(), flags, true);
  return autograd::detail::record<T, D>("sum", sum(x.value(), axes, keepdim), {x},
                                        [kept](const Var<T, D>& g, const auto& in, const auto&) {
                                          return std::vector<Var<T, D>>{broadcast_to(reshape(g, kept), in[0].shape())};
                                        });
}

template <class T, class D>
Var<T, D> mul(const Var<T, D>& a, T s);

template <class T, class D>
Var<T, D> mean(const Var<T, D>& x, const Axes& axes = {}, bool keepdim = false) {
  const auto flags = detail::reduced_axes(x.shape(), axes, "mean");
  std::int64_t count = 1;
  for (int a = 0; a < x.rank(); ++a)
    if (flags[a]) count *= x.dim(a);
  detail::check(count > 0, "mean: cannot average over empty axes of shape ", x.shape());
  return mul(sum(x, axes, keepdim), T(1) / static_cast<T>(count));
}

}  // namespace pixsyn
