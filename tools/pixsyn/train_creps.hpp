#pragma once
// Training narrow CREPS with the StyleGAN2-ADA resnet discriminator on device D (train/creps_recipe.hpp: the
// official loop and settings): shared by train_creps.cpp (the CPU) and train_creps_cuda.cpp (the GPU), which
// each instantiate it for every entry of creps_variants.
#include "pixsyn/models/creps.hpp"
#include "pixsyn/nn/stylegan2_discriminator.hpp"
#include "pixsyn/train/creps_recipe.hpp"
#include "train_family.hpp"

namespace pixsyn::cli::detail {

template <TrainVariant V, class Device>
void train_creps(const TrainArgs& a, const train::Dataset& data) {
  using G = creps::Narrow<V.size, V.max_channels, float, Device>;
  using D = nn::StyleGan2Discriminator<float, Device>;
  auto d_config = nn::StyleGan2DiscriminatorConfig::creps(V.size);
  d_config.channel_max = V.max_channels;
  // Built on the CPU from the seed and copied across, so that a run's initialisation is the same on every
  // device.
  G g, g_ema;
  D d(d_config);
  const auto initial = creps::Narrow<V.size, V.max_channels, float>(a.seed).state_dict();
  g.load_state_dict(nn::state_dict_on<Device>(initial));
  g_ema.load_state_dict(nn::state_dict_on<Device>(initial));
  d.load_state_dict(nn::state_dict_on<Device>(nn::StyleGan2Discriminator<float>(d_config, a.seed + 1).state_dict()));
  // The grids: the run's fixed latents (no style mixing); unlike the recipe's G phases, they leave G_ema's
  // w_avg as it is.
  const auto sample = [seed = a.seed](const G& gen) {
    Philox stream = sample_stream(seed);
    const auto draw = creps::draw_training<G::config, float>(stream, samples_per_grid, 0);
    return creps::synthesize_training(gen, draw, samples_per_grid).images.value();
  };
  train_run<float>(a, data, g, g_ema, d, train::CrepsRecipe<G>{}, sample,
                   train::creps_trainer_options({.batch = a.batch}, V.size));
}

// Runs the registered variant of the arguments on device D.
template <class Device>
void train_creps_on(const TrainArgs& a, const train::Dataset& data) {
  dispatch_variant<creps_variants>(a.size, a.max_channels, [&]<TrainVariant V>() { train_creps<V, Device>(a, data); });
}

}  // namespace pixsyn::cli::detail
