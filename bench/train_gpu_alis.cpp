// bench_train_gpu's ALIS rows: alis::Official<256> and the StyleGAN2-ADA resnet D of ALIS (24,001,089
// parameters) on Cuda, float32, trained as train::Trainer trains them (train::AlisRecipe: three anchors,
// style mixing 0.9, random shifts, seeded noise, w_avg tracked; train::stylegan2_ada_step: G main, G path
// length, D main, D R1; alis_trainer_options: Adam lr 0.0025 with the lazy corrections, γ 10, path length
// weight 2 on batch / 2, EMA), random weights, reals and latents.
#include "pixsyn/cuda.hpp"
#include "pixsyn/models/alis.hpp"
#include "pixsyn/nn/stylegan2_discriminator.hpp"
#include "pixsyn/train/alis_recipe.hpp"
#include "pixsyn/train/ema.hpp"
#include "pixsyn/train/stylegan2_ada_step.hpp"
#include "train_gpu.hpp"

namespace pixsyn::bench {

TrainTiming measure_alis(std::int64_t batch, int repeats) {
  constexpr int S = 256;
  using G = alis::Official<S, float, Cuda>;
  const auto options = train::alis_trainer_options({.batch = batch});
  G g(1), g_ema(1);
  nn::StyleGan2Discriminator<float, Cuda> d(nn::StyleGan2DiscriminatorConfig::alis(S), 2);
  train::Adam<float, Cuda> g_adam(g.named_parameters(), train::lazy_regularized(options.adam, options.g_reg_interval));
  train::Adam<float, Cuda> d_adam(d.named_parameters(),
                                  train::lazy_regularized(options.adam, options.gan.d_reg_interval));
  auto pl_options = options.path_length;
  pl_options.interval = options.g_reg_interval;
  train::PathLength path_length(pl_options);
  const train::AlisRecipe<G> recipe;
  const auto reals = Tensor<float, Cuda>::randn({batch, 3, S, S}, Philox{3});
  // Past the shift ramp (1 kimg) and the EMA ramp-up, as bench/train_torch.py: the steady state.
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
