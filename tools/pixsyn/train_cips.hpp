#pragma once
// Training narrow CIPSskip with rosinality's discriminator on device D: shared by train_cips.cpp (the CPU)
// and train_cips_cuda.cpp (the GPU), which each instantiate it for every entry of cips_skips_variants.
#include "pixsyn/models/cips.hpp"
#include "pixsyn/nn/rosinality_discriminator.hpp"
#include "train_family.hpp"

namespace pixsyn::cli::detail {

template <TrainVariant V, class Device>
void train_cips_skips(const TrainArgs& a, const train::Dataset& data) {
  using G = cips::Generator<narrow_cips(V), float, Device>;
  using D = nn::RosinalityDiscriminator<float, Device>;
  // Built on the CPU from the seed and copied across, so that a run's initialisation is the same on
  // every device.
  G g, g_ema;
  D d({.size = V.size, .max_channels = V.max_channels});
  const auto initial = cips::Generator<narrow_cips(V), float>(a.seed).state_dict();
  g.load_state_dict(nn::state_dict_on<Device>(initial));
  g_ema.load_state_dict(nn::state_dict_on<Device>(initial));
  d.load_state_dict(nn::state_dict_on<Device>(
      nn::RosinalityDiscriminator<float>({.size = V.size, .max_channels = V.max_channels}, a.seed + 1).state_dict()));
  const auto generate = [](const G& gen, const Var<float, Device>& z, std::uint64_t noise_seed) {
    return gen.synthesize_training(gen.map(z),
                                   nn::NoiseSource<float, Device>{.mode = nn::NoiseMode::seeded, .seed = noise_seed});
  };
  train_run<float>(a, data, g, g_ema, d, generate, latent_samples<float, G>(a, generate, V.max_channels),
                   {.z_dim = V.max_channels});
}

// Runs the registered variant of the arguments on device D.
template <class Device>
void train_cips_skips_on(const TrainArgs& a, const train::Dataset& data) {
  dispatch_variant<cips_skips_variants>(a.size, a.max_channels,
                                        [&]<TrainVariant V>() { train_cips_skips<V, Device>(a, data); });
}

}  // namespace pixsyn::cli::detail
