// creps training (the CPU only: creps::Generator runs on the CPU; the GPU renderer reads its weights), and its
// family entry: narrow CREPS with the StyleGAN2-ADA resnet discriminator in the official loop
// (train/creps_recipe.hpp).
#include "pixsyn/models/creps.hpp"
#include "pixsyn/nn/stylegan2_discriminator.hpp"
#include "pixsyn/train/creps_recipe.hpp"
#include "train_family.hpp"

namespace pixsyn::cli::detail {
namespace {

template <TrainVariant V>
void train_creps(const TrainArgs& a, const train::Dataset& data) {
  using G = creps::Narrow<V.size, V.max_channels, float>;
  using D = nn::StyleGan2Discriminator<float>;
  auto d_config = nn::StyleGan2DiscriminatorConfig::creps(V.size);
  d_config.channel_max = V.max_channels;
  G g(a.seed), g_ema(a.seed);
  D d(d_config, a.seed + 1);
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

}  // namespace

TrainFamily creps_train_family() {
  return {.name = "creps",
          .variants = creps_variants,
          .train =
              [](const TrainArgs& a, const train::Dataset& data) {
                dispatch_variant<creps_variants>(a.size, a.max_channels,
                                                 [&]<TrainVariant V>() { train_creps<V>(a, data); });
              },
          .cuda = false};
}

}  // namespace pixsyn::cli::detail
