#pragma once
// The StyleGAN2 losses every family trains with (cips.md §8, creps.md §5, alis.md §4): the non-saturating
// logistic loss and the R1 penalty on real images, the latter through a gradient recorded with
// create_graph so that its own gradient reaches the discriminator's weights (double backward).
#include <utility>
#include <vector>

#include "pixsyn/autograd/backward.hpp"
#include "pixsyn/autograd/functions/activation.hpp"
#include "pixsyn/autograd/functions/arithmetic.hpp"
#include "pixsyn/autograd/functions/math.hpp"
#include "pixsyn/autograd/functions/reduce.hpp"
#include "pixsyn/autograd/grad_mode.hpp"

namespace pixsyn::train {

// D: mean softplus(-D(x)) + mean softplus(D(G(z))).
template <class V>
V discriminator_loss(const V& real_logits, const V& fake_logits) {
  return add(mean(softplus(neg(real_logits))), mean(softplus(fake_logits)));
}

// G: mean softplus(-D(G(z))).
template <class V>
V generator_loss(const V& fake_logits) {
  return mean(softplus(neg(fake_logits)));
}

template <class T, class Device = Cpu>
struct R1Penalty {
  Var<T, Device> penalty;  // mean over the batch of ‖∂ΣD/∂x‖² (summed over C, H, W); differentiable
  Var<T, Device> logits;   // D(x) of the same forward
};

// R1 = mean_b Σ_{c,h,w} (∂ Σ_b D(x)_b / ∂x)², with the input gradient recorded (create_graph), so that
// backward(penalty) differentiates through it to D's weights. d: a callable Var (B, C, H, W) -> (B, 1).
template <class T, class Device, class Discriminator>
R1Penalty<T, Device> r1_penalty(const Discriminator& d, const Tensor<T, Device>& reals) {
  autograd::enable_grad recording;
  const auto x = Var<T, Device>::parameter(reals);
  auto logits = d(x);
  const auto g = autograd::grad(std::vector<Var<T, Device>>{sum(logits)}, std::vector<Var<T, Device>>{x},
                                autograd::GradOptions{.create_graph = true})[0];
  return {mean(sum(square(g), {1, 2, 3})), std::move(logits)};
}

}  // namespace pixsyn::train
