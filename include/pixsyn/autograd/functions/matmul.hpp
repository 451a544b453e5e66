#pragma once
// matmul and linear on Var; their backward passes are matmuls, transposes and sums.
#include "pixsyn/autograd/functions/permute.hpp"
#include "pixsyn/autograd/functions/reduce.hpp"
#include "pixsyn/autograd/var.hpp"
#include "pixsyn/ops/matmul.hpp"

namespace pixsyn {

template <class T, class D>
Var<T, D> matmul(const Var<T, D>& a, const Var<T, D>& b) {
  return autograd::detail::record<T, D>(
      "matmul", matmul(a.value(), b.value()), {a, b}, [](const Var<T, D>& g, const auto& in, const auto&) {
        const Var<T, D>& a = in[0];
        const Var<T, D>& b = in[1];
        Var<T, D> ga, gb;
        if (a.requires_grad()) ga = matmul(g, transpose(b));
        if (b.requires_grad()) {
          if (a.rank() == 3 && b.rank() == 2) {
            // b is shared by the batch: its gradient sums over every batch entry's rows.
            const std::int64_t rows = a.dim(0) * a.dim(1);
            gb = matmul(transpose(reshape(a, Shape{rows, a.dim(2)})), reshape(g, Shape{rows, g.dim(2)}));
          } else {
            gb = matmul(transpose(a), g);
          }
        }
        return std::vector<Var<T, D>>{ga, gb};
      });
}

// y = x Wᵀ + bias for x (..., in), W (out, in) and bias (out) or an undefined Var (no bias).
template <class T, class D>
Var<T, D> linear(const Var<T, D>& x, const Var<T, D>& w, const Var<T, D>& bias = {}) {
  auto backward = [](const Var<T, D>& g, const auto& in, const auto&) {
    const Var<T, D>& x = in[0];
    const Var<T, D>& w = in[1];
    const std::int64_t rows = detail::leading_rows(x.shape());
    const Var<T, D> g2 = reshape(g, Shape{rows, w.dim(0)});
    std::vector<Var<T, D>> grads(in.size());
    if (x.requires_grad()) grads[0] = reshape(matmul(g2, w), x.shape());
    if (w.requires_grad()) grads[1] = matmul(transpose(g2), reshape(x, Shape{rows, w.dim(1)}));
    if (in.size() == 3 && in[2].requires_grad()) grads[2] = sum(g2, {0});
    return grads;
  };
  std::vector<Var<T, D>> inputs{x, w};
  if (bias.defined()) inputs.push_back(bias);
  return autograd::detail::record<T, D>("linear",
                                        linear(x.value(), w.value(), bias.defined() ? bias.value() : Tensor<T, D>()),
                                        std::move(inputs), backward);
}

}  // namespace pixsyn
