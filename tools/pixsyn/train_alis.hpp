#pragma once
// Training narrow ALIS with the StyleGAN2-ADA resnet discriminator on device D (train/alis_recipe.hpp: the
// official loop and settings): shared by train_alis.cpp (the CPU) and train_alis_cuda.cpp (the GPU), which each
// instantiate it for every entry of alis_variants.
#include "pixsyn/models/alis.hpp"
#include "pixsyn/nn/stylegan2_discriminator.hpp"
#include "pixsyn/train/alis_recipe.hpp"
#include "train_family.hpp"

namespace pixsyn::cli::detail {

template <TrainVariant V, class Device>
void train_alis(const TrainArgs& a, const train::Dataset& data) {
  using G = alis::Narrow<V.size, V.max_channels, float, Device>;
  using D = nn::StyleGan2Discriminator<float, Device>;
  using Recipe = train::AlisRecipe<G>;
  auto d_config = nn::StyleGan2DiscriminatorConfig::alis(V.size);
  d_config.channel_max = V.max_channels;
  // Built on the CPU from the seed and copied across, so that a run's initialisation is the same on every
  // device; a fresh run starts with max_shift_strength 0, as the official.
  G g, g_ema;
  D d(d_config);
  const auto initial = alis::Narrow<V.size, V.max_channels, float>(a.seed).state_dict();
  g.load_state_dict(nn::state_dict_on<Device>(initial));
  g_ema.load_state_dict(nn::state_dict_on<Device>(initial));
  Recipe::set_shift_strength(g, 0);
  Recipe::set_shift_strength(g_ema, 0);
  d.load_state_dict(nn::state_dict_on<Device>(nn::StyleGan2Discriminator<float>(d_config, a.seed + 1).state_dict()));
  // The grids: the run's fixed draw of anchors and left borders (no style mixing) and noise; unlike the
  // recipe, they leave G_ema's w_avg as it is.
  const auto sample = [seed = a.seed](const G& gen) {
    Philox stream = sample_stream(seed);
    const auto draw = alis::draw_training<G::config, float>(stream, samples_per_grid, 0);
    return alis::synthesize_training(
               gen, draw, samples_per_grid,
               alis::SynthesisOptions<float>{.noise = alis::NoiseMode::seeded, .seed = sample_noise_seed(seed)})
        .images.value();
  };
  train_run<float>(a, data, g, g_ema, d, Recipe{}, sample, train::alis_trainer_options({.batch = a.batch}));
}

// Runs the registered variant of the arguments on device D.
template <class Device>
void train_alis_on(const TrainArgs& a, const train::Dataset& data) {
  dispatch_variant<alis_variants>(a.size, a.max_channels, [&]<TrainVariant V>() { train_alis<V, Device>(a, data); });
}

}  // namespace pixsyn::cli::detail
