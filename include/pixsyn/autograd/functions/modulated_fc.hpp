#pragma once
// modulated_fc and styled_fc on Var, each ONE graph node: the fused Tensor forward, and a backward written in
// differentiable ops (so it has second derivatives, for R1 and path-length regularisation). A node keeps its
// value for as long as the graph lives, so a layer of composite ops would keep x ∘ s, the product and the
// demodulated product (and the noisy sum before the activation): (B, P, ·) each, gigabytes at 256² batch 16.
// These nodes keep their output only; the backward rebuilds the per-sample weights (B, O, I), which are small,
// from the weight and the styles, and takes the activation's slope from the output's sign.
#include <array>

#include "pixsyn/autograd/functions/activation.hpp"
#include "pixsyn/autograd/functions/arithmetic.hpp"
#include "pixsyn/autograd/functions/math.hpp"
#include "pixsyn/autograd/functions/matmul.hpp"
#include "pixsyn/autograd/functions/permute.hpp"
#include "pixsyn/autograd/functions/reduce.hpp"
#include "pixsyn/autograd/var.hpp"
#include "pixsyn/ops/modulated_fc.hpp"

namespace pixsyn {

namespace detail {

// Gradients {dx, dw, ds} of y = modulated_fc(x, w, s) given gy = dL/dy (B, P, O); undefined where the input
// needs none. With u[b, o, i] = w[o, i] s[b, i] and d[b, o] = rsqrt(Σ_i u² + eps), y[b] = x[b] (d u[b])ᵀ, so
// dx[b] = gy[b] (d u[b]) (summed over b for an x shared by the batch), and with G[b] = gy[b]ᵀ x[b] (B, O, I):
//   du = d (G - d² u Σ_i G u)   (just G without demodulation),   dw = Σ_b du s,   ds = Σ_o du w.
template <class T, class D>
std::array<Var<T, D>, 3> modulated_fc_backward(const Var<T, D>& gy, const Var<T, D>& x, const Var<T, D>& w,
                                               const Var<T, D>& s, const ModulatedFcOptions& options) {
  const std::int64_t batch = s.dim(0), points = x.dim(1), in = x.dim(2), out = w.dim(0);
  const bool shared = x.dim(0) != batch;
  const Var<T, D> s3 = reshape(s, Shape{batch, 1, in}), w3 = reshape(w, Shape{1, out, in});
  const Var<T, D> u = mul(w3, s3);
  Var<T, D> d;
  if (options.demodulate) d = rsqrt(add(sum(square(u), {2}, true), static_cast<T>(options.eps)));
  std::array<Var<T, D>, 3> grads;
  if (x.requires_grad()) {
    const Var<T, D> dx = matmul(gy, options.demodulate ? mul(u, d) : u);
    grads[0] = shared ? sum(dx, {0}, true) : dx;
  }
  if (w.requires_grad() || s.requires_grad()) {
    const Var<T, D> g = matmul(transpose(gy, 1, 2), shared ? reshape(x, Shape{points, in}) : x);
    const Var<T, D> du = options.demodulate ? mul(d, sub(g, mul(mul(u, square(d)), sum(mul(g, u), {2}, true)))) : g;
    if (w.requires_grad()) grads[1] = sum(mul(du, s3), {0});
    if (s.requires_grad()) grads[2] = sum(mul(du, w3), {1});
  }
  return grads;
}

}  // namespace detail

// x (B, P, I) or (1, P, I), weight (O, I), styles (B, I) -> (B, P, O); see ops/modulated_fc.hpp.
template <class T, class D>
Var<T, D> modulated_fc(const Var<T, D>& x, const Var<T, D>& w, const Var<T, D>& s, ModulatedFcOptions options = {}) {
  return autograd::detail::record<T, D>("modulated_fc", modulated_fc(x.value(), w.value(), s.value(), options),
                                        {x, w, s}, [options](const Var<T, D>& g, const auto& in, const auto&) {
                                          const auto grads =
                                              detail::modulated_fc_backward(g, in[0], in[1], in[2], options);
                                          return std::vector<Var<T, D>>(grads.begin(), grads.end());
                                        });
}

// The styled layer in one node: bias_leaky_relu(modulated_fc(x, w, s) + noise · noise_weight, bias); noise
// (B, P, 1) is a constant and may be undefined (then so may noise_weight).
template <class T, class D>
Var<T, D> styled_fc(const Var<T, D>& x, const Var<T, D>& w, const Var<T, D>& s, const Tensor<T, D>& noise,
                    const Var<T, D>& noise_weight, const Var<T, D>& bias, const StyledFcOptions& options = {}) {
  detail::check(!noise.defined() || noise_weight.defined(), "styled_fc: noise is given without a noise weight");
  auto y = styled_fc(x.value(), w.value(), s.value(), noise, noise.defined() ? noise_weight.value() : Tensor<T, D>(),
                     bias.value(), options);
  std::vector<Var<T, D>> inputs{x, w, s, bias};
  if (noise.defined()) inputs.insert(inputs.end(), {noise_weight, Var<T, D>::constant(noise)});
  return autograd::detail::record<T, D>(
      "styled_fc", std::move(y), std::move(inputs), [options](const Var<T, D>& g, const auto& in, const auto& out) {
        const Var<T, D> gy = leaky_relu_backward(g, out.value(), options.activation);
        const auto grads = detail::modulated_fc_backward(gy, in[0], in[1], in[2], options.fc);
        std::vector<Var<T, D>> result(grads.begin(), grads.end());
        result.push_back(in[3].requires_grad() ? sum(gy, {0, 1}) : Var<T, D>());
        if (in.size() == 6) {  // Σ_bpo gy n = Σ_bp n Σ_o gy: summing the channels first keeps it small
          const Var<T, D>& noise = in[5];
          result.push_back(in[4].requires_grad() ? reshape(sum(mul(sum(gy, {2}, true), noise)), Shape{1})
                                                 : Var<T, D>());
          result.push_back(Var<T, D>());
        }
        return result;
      });
}

}  // namespace pixsyn
