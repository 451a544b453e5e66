#pragma once
// permute and transpose on Var: the gradient is permuted back by the inverse permutation.
#include <vector>

#include "pixsyn/autograd/var.hpp"
#include "pixsyn/ops/permute.hpp"

namespace pixsyn {

template <class T, class D>
Var<T, D> permute(const Var<T, D>& x, const std::vector<int>& axes) {
  const auto resolved = detail::resolve_permutation(x.shape(), axes, "permute");
  return autograd::detail::record<T, D>(
      "permute", permute(x.value(), axes), {x},
      [inverse = detail::inverse_permutation(resolved, x.rank())](const Var<T, D>& g, const auto&, const auto&) {
        return std::vector<Var<T, D>>{permute(g, inverse)};
      });
}

template <class T, class D>
Var<T, D> transpose(const Var<T, D>& x, int axis0 = -2, int axis1 = -1) {
  return permute(x, detail::swap_axes(x.shape(), axis0, axis1));
}

}  // namespace pixsyn
