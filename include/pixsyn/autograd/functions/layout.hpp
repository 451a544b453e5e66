#pragma once
// Layout ops on Var. slice/pad_slice and index_select/index_add are each other's adjoints, so their
// backward rules are each other and every order of derivative is available.
#include <cstdint>
#include <vector>

#include "pixsyn/autograd/functions/arithmetic.hpp"
#include "pixsyn/autograd/var.hpp"
#include "pixsyn/ops/layout.hpp"

namespace pixsyn {

template <class T, class D>
Var<T, D> slice(const Var<T, D>& x, int axis, std::int64_t start, std::int64_t stop);
template <class T, class D>
Var<T, D> pad_slice(const Var<T, D>& g, int axis, std::int64_t start, std::int64_t full_extent);
template <class T, class D>
Var<T, D> index_add(const Var<T, D>& g, int axis, const Tensor<std::int64_t, Cpu>& index, std::int64_t extent);

template <class T, class D>
Var<T, D> concat(const std::vector<Var<T, D>>& parts, int axis) {
  std::vector<Tensor<T, D>> values;
  for (const auto& p : parts) values.push_back(p.value());
  auto out = concat(values, axis);
  const int a = parts[0].shape().axis(axis);
  return autograd::detail::record<T, D>(
      "concat", std::move(out), parts, [a](const Var<T, D>& g, const auto& in, const auto&) {
        std::vector<Var<T, D>> grads;
        std::int64_t offset = 0;
        for (const auto& p : in) {
          const std::int64_t n = p.dim(a);
          grads.push_back(p.requires_grad() ? slice(g, a, offset, offset + n) : Var<T, D>());
          offset += n;
        }
        return grads;
      });
}

template <class T, class D>
Var<T, D> slice(const Var<T, D>& x, int axis, std::int64_t start, std::int64_t stop) {
  const auto r = detail::resolve_slice(x.shape(), axis, start, stop);
  return autograd::detail::record<T, D>(
      "slice", slice(x.value(), r.axis, r.start, r.stop), {x}, [r](const Var<T, D>& g, const auto& in, const auto&) {
        return std::vector<Var<T, D>>{pad_slice(g, r.axis, r.start, in[0].dim(r.axis))};
      });
}

template <class T, class D>
Var<T, D> pad_slice(const Var<T, D>& g, int axis, std::int64_t start, std::int64_t full_extent) {
  const auto r = detail::resolve_pad(g.shape(), axis, start, full_extent);
  return autograd::detail::record<T, D>("pad_slice", pad_slice(g.value(), r.axis, r.start, full_extent), {g},
                                        [r](const Var<T, D>& gg, const auto&, const auto&) {
                                          return std::vector<Var<T, D>>{slice(gg, r.axis, r.start, r.stop)};
                                        });
}

template <class T, class D>
Var<T, D> index_select(const Var<T, D>& x, int axis, const Tensor<std::int64_t, Cpu>& index) {
  auto out = index_select(x.value(), axis, index);
  const int a = x.shape().axis(axis);
  return autograd::detail::record<T, D>("index_select", std::move(out), {x},
                                        [a, index](const Var<T, D>& g, const auto& in, const auto&) {
                                          return std::vector<Var<T, D>>{index_add(g, a, index, in[0].dim(a))};
                                        });
}

template <class T, class D>
Var<T, D> index_add(const Var<T, D>& g, int axis, const Tensor<std::int64_t, Cpu>& index, std::int64_t extent) {
  auto out = index_add(g.value(), axis, index, extent);
  const int a = g.shape().axis(axis);
  return autograd::detail::record<T, D>("index_add", std::move(out), {g},
                                        [a, index](const Var<T, D>& gg, const auto&, const auto&) {
                                          return std::vector<Var<T, D>>{index_select(gg, a, index)};
                                        });
}

// The gradient passes where lo < x < hi and is zero elsewhere (a constant mask, so second
// derivatives are those of a piecewise-linear function).
template <class T, class D>
Var<T, D> clamp(const Var<T, D>& x, std::type_identity_t<T> lo, std::type_identity_t<T> hi) {
  return autograd::detail::record<T, D>(
      "clamp", clamp(x.value(), lo, hi), {x}, [lo, hi](const Var<T, D>& g, const auto& in, const auto&) {
        return std::vector<Var<T, D>>{mul(g, Var<T, D>(detail::clamp_mask<T>(in[0].value(), lo, hi)))};
      });
}

// floor is piecewise constant: its derivative is zero almost everywhere (and undefined at integers),
// so the result is a constant that carries no gradient back to x.
template <class T, class D>
Var<T, D> floor(const Var<T, D>& x) {
  return Var<T, D>::constant(floor(x.value()));
}

}  // namespace pixsyn
