#pragma once
// ALIS's side of the StyleGAN2-ADA loop (alis.md §4) for train::Trainer: three anchors per sample with
// style mixing (probability 0.9, alis.yml), a random left border, seeded noise (a data-parallel rank
// keeps its samples' rows of the whole batch's draws and noise), w_avg tracked from every
// phase's centre anchor (SG2-ADA: beta 0.995), and max_shift_strength ramped after every step. The path
// length is measured against the centre anchor's styles. The family's other settings (lr 0.0025, γ 10,
// EMA half-life batch · 10/32 kimg with ramp-up 0.05, Adam stepping every parameter as the official
// `·0` terms make torch do) are the TrainerOptions of alis_trainer_options.
#include <cstdint>

#include "pixsyn/models/alis/training.hpp"
#include "pixsyn/train/trainer.hpp"

namespace pixsyn::train {

template <class G>
struct AlisRecipe {
  using T = typename G::value_type;
  using Device = typename G::device_type;
  double mixing_probability = 0.9;

  Generated<T, Device> operator()(G& g, AdaPhase, std::int64_t batch, Philox& gen, std::uint64_t noise_seed,
                                  nn::SampleShard shard = {}) const {
    auto draw = alis::draw_training<G::config, T>(gen, batch, mixing_probability);
    draw.z = shard_rows(draw.z, shard);
    draw.mix_z = shard_rows(draw.mix_z, shard);
    draw.delta = shard_rows(draw.delta, shard);
    const nn::ShardedNoise sharded(shard);  // the noise of these samples of the whole batch
    const auto frames =
        alis::synthesize_training(g, draw, static_cast<std::int64_t>(draw.delta.size()),
                                  alis::SynthesisOptions<T>{.noise = alis::NoiseMode::seeded, .seed = noise_seed});
    alis::track_w_avg(g, frames);
    return {frames.images, frames.ws};
  }

  void after_step(G& g, std::int64_t images_seen) const { set_shift_strength(g, alis::shift_strength(images_seen)); }

  // A fresh model starts with max_shift_strength 0 (delta unused during the first kimg), as the official.
  static void set_shift_strength(G& g, double strength) {
    auto host = Tensor<T>::ones({1});
    host.data()[0] = static_cast<T>(strength);
    g.synthesis.max_shift_strength = alis::detail::on_device<Device>(host);
  }
};

// The official ALIS training settings at `batch` images per step (alis.md §4).
inline TrainerOptions alis_trainer_options(TrainerOptions options) {
  options.adam = {.lr = 0.0025, .beta1 = 0, .beta2 = 0.99, .eps = 1e-8, .zero_missing_gradients = true};
  options.g_reg_interval = 4;
  options.gan = {.r1_gamma = 10, .d_reg_interval = 16};
  options.path_length = {.weight = 2, .decay = 0.01, .batch_shrink = 2};
  options.ema = {.half_life_images = static_cast<double>(options.batch) * 10 / 32 * 1000, .rampup = 0.05};
  return options;
}

}  // namespace pixsyn::train
