// bench_train_gpu's ALIS rows: alis::Official<256> and the StyleGAN2-ADA resnet D of ALIS (24,001,089
// parameters) on Cuda, trained with train::AlisRecipe (three anchors, style mixing 0.9, random shifts, seeded
// noise, w_avg tracked, the shift ramp) and alis_trainer_options (lr 0.0025, γ 10) in train_gpu_ada.hpp's loop.
#include "pixsyn/models/alis.hpp"
#include "pixsyn/train/alis_recipe.hpp"
#include "train_gpu_ada.hpp"

namespace pixsyn::bench {

TrainTiming measure_alis(std::int64_t batch, int repeats) {
  constexpr int S = 256;
  using G = alis::Official<S, float, Cuda>;
  return measure_stylegan2_ada<G>(train::AlisRecipe<G>{}, train::alis_trainer_options({.batch = batch}),
                                  nn::StyleGan2DiscriminatorConfig::alis(S), repeats);
}

}  // namespace pixsyn::bench
