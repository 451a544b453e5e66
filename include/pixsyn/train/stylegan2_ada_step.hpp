#pragma once
// One iteration of the StyleGAN2-ADA training loop (training_loop.py with loss.py's StyleGAN2Loss), which
// CREPS (creps.md §5) and ALIS (alis.md §4) train with. Its phases, in this order:
//
//   G main: loss = mean softplus(-D(G(z))), D's parameters frozen (no weight gradients for D);
//   G reg:  every G_reg_interval-th iteration, the path-length loss weight · penalty · interval on
//           batch / batch_shrink samples (train/path_length.hpp);
//   D main: loss = mean softplus(D(G(z))) + mean softplus(-D(x)), G not differentiated;
//   D reg:  every D_reg_interval-th iteration, γ/2 · R1 · interval.
//
// Each phase zeroes its optimizer's gradients, backpropagates and steps; the EMA, the latents and noise are
// the caller's. On the GPU the losses stay on the device until the end of the iteration, where one read-back
// waits for the whole iteration (the path length reads its running mean when it runs). (rosinality's loop,
// which CIPS trains with, runs D before G: train/gan_step.hpp.)
#include <cstdint>
#include <limits>

#include "pixsyn/core/philox.hpp"

#include "pixsyn/autograd/grad_mode.hpp"
#include "pixsyn/ops/transfer.hpp"
#include "pixsyn/train/adam.hpp"
#include "pixsyn/train/frozen_parameters.hpp"
#include "pixsyn/train/losses.hpp"
#include "pixsyn/train/path_length.hpp"
#include "pixsyn/train/sample_shard.hpp"

namespace pixsyn::train {

enum class AdaPhase { generator, generator_regularization, discriminator };

template <class T, class Device = Cpu>
struct Generated {
  Var<T, Device> images;  // (B, C, S, S) in D's layout
  Var<T, Device> ws;      // the synthesis input the path length is measured against (B, num_ws, w_dim)
};

// A generator's side of the StyleGAN2-ADA loop as train::Trainer runs it (train/alis_recipe.hpp,
// train/creps_recipe.hpp):
//   recipe(g, phase, batch, gen, noise_seed, shard) -> Generated
//       that phase's images and styles of the samples `shard` of a batch of `batch` (all of them when left
//       out; a data-parallel rank's share, train/sample_shard.hpp), every random number drawn from gen
//       (Philox&) or noise_seed for the whole batch, so that the ranks' shards make up one process's batch
//   recipe.after_step(g, images_seen)   G's buffer updates after a step (ALIS's shift)
template <class R, class G>
concept AdaRecipe = requires(R& recipe, G& g, Philox& gen) {
  recipe(g, AdaPhase::generator, std::int64_t{1}, gen, std::uint64_t{0});
  recipe(g, AdaPhase::generator, std::int64_t{1}, gen, std::uint64_t{0}, nn::SampleShard{});
  recipe.after_step(g, std::int64_t{0});
};

template <class T, class Device = Cpu>
struct AdaRegularization {
  bool r1 = false;                      // run the D reg phase this iteration
  PathLength* path_length = nullptr;    // non-null: run the G reg phase this iteration with this state
  Tensor<T, Device> path_length_noise;  // N(0, 1) draws of the regularised images' shape
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

// generate(phase) -> Generated<T, Device> from G's parameters with that phase's latents and noise (for the
// G reg phase, the shrunk batch); d(Var images) -> logits (B, 1).
template <class T, class Device, class Discriminator, class Generate>
AdaStepLosses stylegan2_ada_step(const Discriminator& d, Adam<T, Device>& g_optimizer, Adam<T, Device>& d_optimizer,
                                 const Tensor<T, Device>& reals, Generate&& generate,
                                 const AdaRegularization<T, Device>& regularize, const AdaStepOptions& options = {}) {
  pixsyn::detail::check(options.r1_gamma >= 0 && options.d_reg_interval >= 1, "stylegan2_ada_step: r1_gamma ",
                        options.r1_gamma, " must be non-negative and d_reg_interval ", options.d_reg_interval,
                        " positive");
  using V = Var<T, Device>;
  Tensor<T, Device> loss_g, pl, loss_d, r1;
  {
    const detail::FrozenParameters<T, Device> frozen(d_optimizer.parameters());  // D's, which Adam updates
    const V loss = generator_loss(d(generate(AdaPhase::generator).images));
    g_optimizer.zero_grad();
    autograd::backward(loss);
    g_optimizer.step();
    loss_g = loss.value();
  }
  if (regularize.path_length != nullptr) {
    PathLength& length = *regularize.path_length;
    const Generated<T, Device> out = generate(AdaPhase::generator_regularization);
    const auto term = length.penalty(out.images, out.ws, regularize.path_length_noise);
    g_optimizer.zero_grad();
    autograd::backward(length.loss(term));
    g_optimizer.step();
    pl = term.penalty.value();
  }
  {
    V fakes;
    {
      autograd::no_grad frozen;  // the D phase does not differentiate G
      fakes = generate(AdaPhase::discriminator).images;
    }
    const V loss = discriminator_loss(d(V::constant(reals)), d(fakes.detach()));
    d_optimizer.zero_grad();
    autograd::backward(loss);
    d_optimizer.step();
    loss_d = loss.value();
  }
  if (regularize.r1) {
    const auto penalty = r1_penalty(d, reals);
    const V loss = mul(penalty.penalty, static_cast<T>(options.r1_gamma / 2 * options.d_reg_interval));
    d_optimizer.zero_grad();
    autograd::backward(loss);
    d_optimizer.step();
    r1 = penalty.penalty.value();
  }
  AdaStepLosses losses;
  losses.loss_g = pixsyn::detail::read_scalar(loss_g);
  losses.loss_d = pixsyn::detail::read_scalar(loss_d);
  if (regularize.path_length != nullptr) losses.pl = pixsyn::detail::read_scalar(pl);
  if (regularize.r1) losses.r1 = pixsyn::detail::read_scalar(r1);
  return losses;
}

}  // namespace pixsyn::train
