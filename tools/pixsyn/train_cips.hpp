#pragma once
// Training narrow CIPSskip with rosinality's discriminator on device D, on full images or (--patch, for the
// variants marked `patches`) on multi-scale patches: shared by train_cips.cpp (the CPU) and train_cips_cuda.cpp
// (the GPU), which each instantiate it for every entry of cips_skips_variants.
#include <string>
#include <utility>

#include "pixsyn/models/cips.hpp"
#include "pixsyn/models/cips/patches.hpp"
#include "pixsyn/nn/rosinality_discriminator.hpp"
#include "train_family.hpp"

namespace pixsyn::cli::detail {

template <TrainVariant V, class Device>
void train_cips_skips(const TrainArgs& a, const train::Dataset& data) {
  using G = cips::Generator<narrow_cips(V), float, Device>;
  using D = nn::RosinalityDiscriminator<float, Device>;
  using Noise = nn::NoiseSource<float, Device>;
  // D sees the full images, or with --patch P the P x P patches.
  const nn::RosinalityDiscriminatorConfig d_config{.size = a.patch > 0 ? static_cast<int>(a.patch) : V.size,
                                                   .max_channels = V.max_channels};
  // Built on the CPU from the seed and copied across, so that a run's initialisation is the same on
  // every device.
  G g, g_ema;
  D d(d_config);
  const auto initial = cips::Generator<narrow_cips(V), float>(a.seed).state_dict();
  g.load_state_dict(nn::state_dict_on<Device>(initial));
  g_ema.load_state_dict(nn::state_dict_on<Device>(initial));
  d.load_state_dict(nn::state_dict_on<Device>(nn::RosinalityDiscriminator<float>(d_config, a.seed + 1).state_dict()));
  const auto generate = [](const G& gen, const Var<float, Device>& z, std::uint64_t noise_seed) {
    return gen.synthesize_training(gen.map(z), Noise{.mode = nn::NoiseMode::seeded, .seed = noise_seed});
  };
  const auto sample = latent_samples<float, G>(a, generate, V.max_channels);
  // The patch size is part of what a run trains (D's size): a resume with another one is refused.
  train::TrainerOptions options{
      .z_dim = V.max_channels, .patch = a.patch, .model = {{"patch", std::to_string(a.patch)}}};
  if constexpr (V.patches) {
    if (a.patch > 0) {
      // The fakes at the patch pixels' coordinates on the full grid (the learned embedding read bilinearly).
      const auto patches = [](const G& gen, const Var<float, Device>& z, std::uint64_t noise_seed,
                              const Tensor<float, Device>& xy) {
        return cips::synthesize_patches(gen, gen.map(z), Var<float, Device>(xy),
                                        Noise{.mode = nn::NoiseMode::seeded, .seed = noise_seed});
      };
      return train_run<float>(a, data, g, g_ema, d, patches, sample, std::move(options));
    }
  }
  train_run<float>(a, data, g, g_ema, d, generate, sample, std::move(options));
}

// Runs the registered variant of the arguments on device D.
template <class Device>
void train_cips_skips_on(const TrainArgs& a, const train::Dataset& data) {
  dispatch_variant<cips_skips_variants>(a.size, a.max_channels,
                                        [&]<TrainVariant V>() { train_cips_skips<V, Device>(a, data); });
}

}  // namespace pixsyn::cli::detail
