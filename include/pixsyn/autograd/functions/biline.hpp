#pragma once
// biline_compose on Var: a composite of gathers, a product and a sum (so it has second derivatives);
// it computes the values of the fused Tensor kernel.
#include "pixsyn/autograd/functions/arithmetic.hpp"
#include "pixsyn/autograd/functions/layout.hpp"
#include "pixsyn/autograd/functions/reduce.hpp"
#include "pixsyn/autograd/var.hpp"
#include "pixsyn/ops/biline.hpp"

namespace pixsyn {

template <class T, class D>
Var<T, D> biline_compose(const Var<T, D>& u, const Var<T, D>& v, const Tensor<std::int64_t, Cpu>& rows,
                         const Tensor<std::int64_t, Cpu>& cols) {
  detail::check_biline_compose(u.shape(), v.shape(), rows, cols);
  return sum(mul(index_select(u, 1, rows), index_select(v, 1, cols)), {2});
}

}  // namespace pixsyn
