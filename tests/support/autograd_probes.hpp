#pragma once
// Ops for tests of the backward pass's schedule: an identity that reports when its backward rule runs, and
// a product whose backward gives its second input no gradient.
#include <functional>
#include <utility>
#include <vector>

#include <pixsyn/pixsyn.hpp>

namespace pixsyn::test {

template <class T>
Var<T> probe(const Var<T>& x, std::function<void()> on_backward) {
  return autograd::detail::record<T, Cpu>(
      "probe", x.value(), {x},
      [on_backward = std::move(on_backward)](const Var<T>& g, const std::vector<Var<T>>&,
                                             const Var<T>&) -> std::vector<Var<T>> {
        on_backward();
        return {g};
      });
}

template <class T>
Var<T> mul_without_second_gradient(const Var<T>& a, const Var<T>& b) {
  return autograd::detail::record<T, Cpu>(
      "mul_without_second_gradient", mul(a.value(), b.value()), {a, b},
      [](const Var<T>& g, const std::vector<Var<T>>& in, const Var<T>&) -> std::vector<Var<T>> {
        return {mul(g, in[1]), Var<T>()};
      });
}

}  // namespace pixsyn::test
