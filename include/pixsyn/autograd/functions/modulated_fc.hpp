#pragma once
// modulated_fc on Var: a composite of differentiable ops (so it has second derivatives, for R1 and
// path-length regularisation). It computes the same values as the fused Tensor kernel.
#include "pixsyn/autograd/functions/arithmetic.hpp"
#include "pixsyn/autograd/functions/math.hpp"
#include "pixsyn/autograd/functions/matmul.hpp"
#include "pixsyn/autograd/functions/permute.hpp"
#include "pixsyn/autograd/functions/reduce.hpp"
#include "pixsyn/autograd/var.hpp"
#include "pixsyn/ops/modulated_fc.hpp"

namespace pixsyn {

template <class T, class D>
Var<T, D> modulated_fc(const Var<T, D>& x, const Var<T, D>& w, const Var<T, D>& s, ModulatedFcOptions options = {}) {
  detail::check_modulated_fc(x.shape(), w.shape(), s.shape());
  const std::int64_t batch = x.dim(0), in = x.dim(2), out = w.dim(0);
  // Style the input, then one GEMM with the shared weight over every pixel of the batch.
  const Var<T, D> y = matmul(mul(x, reshape(s, Shape{batch, 1, in})), transpose(w));
  if (!options.demodulate) return y;
  const Var<T, D> d = rsqrt(add(matmul(square(s), transpose(square(w))), static_cast<T>(options.eps)));
  return mul(y, reshape(d, Shape{batch, 1, out}));
}

}  // namespace pixsyn
