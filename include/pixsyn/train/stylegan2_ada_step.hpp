#pragma once
// One iteration of the StyleGAN2-ADA training loop (training_loop.py with loss.py's StyleGAN2Loss), which
// CREPS (creps.md §5) and ALIS (alis.md §4) train with. Its phases, in this order:
//
//   G main: loss = mean softplus(-D(G(z))), D not stepped;
//   G reg:  every G_reg_interval-th iteration, the path-length loss weight · penalty · interval on
//           batch / batch_shrink samples (train/path_length.hpp);
//   D main: loss = mean softplus(D(G(z))) + mean softplus(-D(x)), G not differentiated;
//   D reg:  every D_reg_interval-th iteration, γ/2 · R1 · interval.
//
// Each phase zeroes its optimizer's gradients, backpropagates and steps; the EMA, the latents and noise are
// the caller's. (rosinality's loop, which CIPS trains with, runs D before G: train/gan_step.hpp.)
#include <limits>

#include "pixsyn/autograd/grad_mode.hpp"
#include "pixsyn/train/adam.hpp"
#include "pixsyn/train/losses.hpp"
#include "pixsyn/train/path_length.hpp"

namespace pixsyn::train {

enum class AdaPhase { generator, generator_regularization, discriminator };

template <class T, class Device = Cpu>
struct Generated {
  Var<T, Device> images;  // (B, C, S, S) in D's layout
  Var<T, Device> ws;      // the synthesis input the path length is measured against (B, num_ws, w_dim)
};

template <class T>
struct AdaRegularization {
  bool r1 = false;                    // run the D reg phase this iteration
  PathLength* path_length = nullptr;  // non-null: run the G reg phase this iteration with this state
  Tensor<T> path_length_noise;        // N(0, 1) draws of the regularised images' shape
};

struct AdaStepOptions {
  double r1_gamma = 10;
  int d_reg_interval = 16;
};

struct AdaStepLosses {
  double loss_g = 0, loss_d = 0;
  double r1 = std::numeric_limits<double>::quiet_NaN();  // the R1 penalty (before γ/2), NaN when not due
  double pl =
      std::numeric_limits<double>::quiet_NaN();  // the path-length penalty (before the weight), NaN when not due
};

// generate(phase) -> Generated<T> from G's parameters with that phase's latents and noise (for the
// G reg phase, the shrunk batch); d(Var images) -> logits (B, 1).
template <class T, class Discriminator, class Generate>
AdaStepLosses stylegan2_ada_step(const Discriminator& d, Adam<T>& g_optimizer, Adam<T>& d_optimizer,
                                 const Tensor<T>& reals, Generate&& generate, const AdaRegularization<T>& regularize,
                                 const AdaStepOptions& options = {}) {
  pixsyn::detail::check(options.r1_gamma >= 0 && options.d_reg_interval >= 1, "stylegan2_ada_step: r1_gamma ",
                        options.r1_gamma, " must be non-negative and d_reg_interval ", options.d_reg_interval,
                        " positive");
  AdaStepLosses losses;
  {
    const Var<T> loss = generator_loss(d(generate(AdaPhase::generator).images));
    g_optimizer.zero_grad();
    autograd::backward(loss);
    g_optimizer.step();
    losses.loss_g = static_cast<double>(loss.value().item());
  }
  if (regularize.path_length != nullptr) {
    PathLength& pl = *regularize.path_length;
    const Generated<T> out = generate(AdaPhase::generator_regularization);
    const auto term = pl.penalty(out.images, out.ws, regularize.path_length_noise);
    g_optimizer.zero_grad();
    autograd::backward(pl.loss(term));
    g_optimizer.step();
    losses.pl = static_cast<double>(term.penalty.value().item());
  }
  {
    Var<T> fakes;
    {
      autograd::no_grad frozen;  // the D phase does not differentiate G
      fakes = generate(AdaPhase::discriminator).images;
    }
    const Var<T> loss = discriminator_loss(d(Var<T>::constant(reals)), d(fakes.detach()));
    d_optimizer.zero_grad();
    autograd::backward(loss);
    d_optimizer.step();
    losses.loss_d = static_cast<double>(loss.value().item());
  }
  if (regularize.r1) {
    const auto r1 = r1_penalty(d, reals);
    const Var<T> loss = mul(r1.penalty, static_cast<T>(options.r1_gamma / 2 * options.d_reg_interval));
    d_optimizer.zero_grad();
    autograd::backward(loss);
    d_optimizer.step();
    losses.r1 = static_cast<double>(r1.penalty.value().item());
  }
  // The G phases left gradients on D's weights; the D phase zeroes them before its backward.
  return losses;
}

}  // namespace pixsyn::train
