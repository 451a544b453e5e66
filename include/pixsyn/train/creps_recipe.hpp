#pragma once
// CREPS's side of the StyleGAN2-ADA loop (creps.md §5; StyleGAN3's loss.py) for train::Trainer: z through
// the mapping, no style mixing (the creps config sets 0), the image on the training grid, w_avg tracked
// (beta 0.998) where the CREPS mapping does it: in the G phases, not in the D phase (its update_emas test
// is inverted with respect to StyleGAN3's). The path length is measured against the broadcast styles.
// Other settings are creps_trainer_options's.
#include <cstdint>

#include "pixsyn/models/creps/training.hpp"
#include "pixsyn/train/trainer.hpp"

namespace pixsyn::train {

template <class G>
struct CrepsRecipe {
  using T = typename G::value_type;
  using Device = typename G::device_type;
  double mixing_probability = 0;

  Generated<T, Device> operator()(G& g, AdaPhase phase, std::int64_t batch, Philox& gen, std::uint64_t,
                                  nn::SampleShard shard = {}) const {
    auto draw = creps::draw_training<G::config, T>(gen, batch, mixing_probability);
    draw.z = shard_rows(draw.z, shard);  // a data-parallel rank's rows of the whole batch's draws
    draw.mix_z = shard_rows(draw.mix_z, shard);
    const std::int64_t local = draw.z.dim(0);
    const auto out = creps::synthesize_training(g, draw, local);
    if (phase != AdaPhase::discriminator)
      g.mapping.track_w_avg(reshape(slice(out.ws.value(), 1, 0, 1), Shape{local, G::config.w_dim}), 0.998);
    return {out.images, out.ws};
  }

  void after_step(G&, std::int64_t) const {}
};

// The official CREPS training settings at `batch` images per step and size S (creps.md §5): lr 0.002,
// γ from SG2-ADA's heuristic 0.0002 S² / batch (the repo gives no γ for small sizes). Adam steps every
// parameter in every phase, as SG2-ADA's `·0` terms make torch do; StyleGAN3's code dropped those terms, so
// there a parameter whose regularisation gradient is exactly zero is stepped or not depending on how
// torch's autograd saved the forward (tools/reference/make_sg2ada_train_fixtures.py says more).
inline TrainerOptions creps_trainer_options(TrainerOptions options, int size) {
  options.adam = {.lr = 0.002, .beta1 = 0, .beta2 = 0.99, .eps = 1e-8, .zero_missing_gradients = true};
  options.g_reg_interval = 4;
  options.gan = {.r1_gamma = 0.0002 * size * size / static_cast<double>(options.batch), .d_reg_interval = 16};
  options.path_length = {.weight = 2, .decay = 0.01, .batch_shrink = 2};
  options.ema = {.half_life_images = static_cast<double>(options.batch) * 10 / 32 * 1000, .rampup = 0.05};
  return options;
}

}  // namespace pixsyn::train
