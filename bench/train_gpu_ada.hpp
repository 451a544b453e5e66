#pragma once
// bench_train_gpu's StyleGAN2-ADA rows (train_gpu_alis.cpp, train_gpu_creps.cpp): a generator G on Cuda and
// the StyleGAN2-ADA resnet D, float32, trained as train::Trainer trains them: the family's recipe
// (train/alis_recipe.hpp, train/creps_recipe.hpp) in train::stylegan2_ada_step (G main, G path length, D main,
// D R1) with the family's TrainerOptions (Adam with the lazy corrections, γ, path length on batch / 2), the
// recipe's after_step and the G EMA; random weights, reals and latents.
#include <cstdint>

#include "pixsyn/cuda.hpp"
#include "pixsyn/nn/stylegan2_discriminator.hpp"
#include "pixsyn/train/ema.hpp"
#include "pixsyn/train/stylegan2_ada_step.hpp"
#include "pixsyn/train/trainer.hpp"
#include "train_gpu.hpp"

namespace pixsyn::bench {

template <class G, class Recipe>
TrainTiming measure_stylegan2_ada(const Recipe& recipe, const train::TrainerOptions& options,
                                  const nn::StyleGan2DiscriminatorConfig& d_config, int repeats) {
  constexpr int S = G::config.size;
  const std::int64_t batch = options.batch;
  G g(1), g_ema(1);
  nn::StyleGan2Discriminator<float, Cuda> d(d_config, 2);
  train::Adam<float, Cuda> g_adam(g.named_parameters(), train::lazy_regularized(options.adam, options.g_reg_interval));
  train::Adam<float, Cuda> d_adam(d.named_parameters(),
                                  train::lazy_regularized(options.adam, options.gan.d_reg_interval));
  auto pl_options = options.path_length;
  pl_options.interval = options.g_reg_interval;
  train::PathLength path_length(pl_options);
  const auto reals = Tensor<float, Cuda>::randn({batch, 3, S, S}, Philox{3});
  // Past ALIS's shift ramp (1 kimg) and the EMA ramp-up, as bench/train_torch.py: the steady state.
  std::int64_t images = 100000;
  std::uint64_t step = 0;
  const auto iteration = [&](IterationKind kind) {
    const auto generate = [&](train::AdaPhase phase) {
      const std::uint64_t p = static_cast<std::uint64_t>(phase);
      Philox gen{7, 4 * step + p};
      const bool shrunk = phase == train::AdaPhase::generator_regularization;
      return recipe(g, phase, shrunk ? path_length.batch(batch) : batch, gen, 4 * step + p);
    };
    train::AdaRegularization<float, Cuda> regularize{.r1 = kind == IterationKind::r1};
    if (kind != IterationKind::plain) {
      regularize.path_length = &path_length;
      regularize.path_length_noise = Tensor<float, Cuda>::randn({path_length.batch(batch), 3, S, S}, Philox{9, step});
    }
    train::stylegan2_ada_step(d, g_adam, d_adam, reals, generate, regularize,
                              {.r1_gamma = options.gan.r1_gamma, .d_reg_interval = options.gan.d_reg_interval});
    recipe.after_step(g, images);
    train::update_ema(g_ema, g, train::ema_beta(batch, images, options.ema));
    images += batch;
    ++step;
  };
  return time_iterations(iteration, true, repeats);
}

}  // namespace pixsyn::bench
