#pragma once
// One iteration of StyleGAN2's alternating training with lazy R1 (rosinality's loop, which CIPS uses;
// cips.md §8), for any generator and discriminator:
//
//   1. D step: loss_d = softplus(-D(reals)) + softplus(D(G(z₁))) (means), G not differentiated.
//   2. every d_reg_interval-th iteration, a second D step on γ/2 · R1 · d_reg_interval.
//   3. G step: loss_g = softplus(-D(G(z₂))), D's parameters frozen (no weight gradients for D).
//
// Each step zeroes its optimizer's gradients, backpropagates and steps; the EMA of G is the caller's
// (train/ema.hpp), as are the latents and noise, which `generate` draws.
#include <cmath>
#include <limits>

#include "pixsyn/autograd/grad_mode.hpp"
#include "pixsyn/ops/transfer.hpp"
#include "pixsyn/train/adam.hpp"
#include "pixsyn/train/frozen_parameters.hpp"
#include "pixsyn/train/losses.hpp"

namespace pixsyn::train {

struct GanStepOptions {
  double r1_gamma = 10;
  int d_reg_interval = 16;  // lazy R1: the optimizer's lr and betas are corrected by lazy_regularized
};

struct GanStepLosses {
  double loss_d = 0, loss_g = 0;
  double r1 = std::numeric_limits<double>::quiet_NaN();  // the penalty (before γ/2), NaN when not regularised
};

enum class GanPhase { discriminator, generator };

// generate(phase) -> fake images Var<T, Device> (B, C, S, S) from the generator's parameters, with the
// latents and noise of that phase; d(Var images) -> logits (B, 1). `regularize`: run the R1 step this
// iteration. On the GPU the losses stay on the device until the end of the iteration, where one read-back
// waits for the whole iteration (not for each phase).
template <class T, class Device, class Discriminator, class Generate>
GanStepLosses gan_step(const Discriminator& d, Adam<T, Device>& g_optimizer, Adam<T, Device>& d_optimizer,
                       const Tensor<T, Device>& reals, Generate&& generate, bool regularize,
                       const GanStepOptions& options = {}) {
  using V = Var<T, Device>;
  pixsyn::detail::check(options.r1_gamma >= 0 && options.d_reg_interval >= 1, "gan_step: r1_gamma ", options.r1_gamma,
                        " must be non-negative and d_reg_interval ", options.d_reg_interval, " positive");
  Tensor<T, Device> loss_d, loss_g, r1;
  {
    V fakes;
    {
      autograd::no_grad frozen;  // the D step does not differentiate G
      fakes = generate(GanPhase::discriminator);
    }
    const V loss = discriminator_loss(d(V::constant(reals)), d(fakes.detach()));
    d_optimizer.zero_grad();
    autograd::backward(loss);
    d_optimizer.step();
    loss_d = loss.value();
  }
  if (regularize) {
    const auto penalty = r1_penalty(d, reals);
    const V loss = mul(penalty.penalty, static_cast<T>(options.r1_gamma / 2 * options.d_reg_interval));
    d_optimizer.zero_grad();
    autograd::backward(loss);
    d_optimizer.step();
    r1 = penalty.penalty.value();
  }
  {
    const detail::FrozenParameters<T, Device> frozen(d_optimizer.parameters());  // D's, which Adam updates
    const V loss = generator_loss(d(generate(GanPhase::generator)));
    g_optimizer.zero_grad();
    autograd::backward(loss);
    g_optimizer.step();
    loss_g = loss.value();
  }
  GanStepLosses losses;
  losses.loss_d = pixsyn::detail::read_scalar(loss_d);
  losses.loss_g = pixsyn::detail::read_scalar(loss_g);
  if (regularize) losses.r1 = pixsyn::detail::read_scalar(r1);
  return losses;
}

}  // namespace pixsyn::train
