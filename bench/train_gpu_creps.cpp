// bench_train_gpu's CREPS rows: creps::Official<256> (the autograd generator on the CUDA ops) and the
// StyleGAN2-ADA resnet D of CREPS on Cuda, trained with train::CrepsRecipe (no style mixing, the training grid
// linspace(0, 1, 256), w_avg tracked in the G phases) and creps_trainer_options (lr 0.002, γ 0.0002 S² / batch)
// in train_gpu_ada.hpp's loop.
#include "pixsyn/models/creps.hpp"
#include "pixsyn/train/creps_recipe.hpp"
#include "train_gpu_ada.hpp"

namespace pixsyn::bench {

TrainTiming measure_creps(std::int64_t batch, int repeats) {
  constexpr int S = 256;
  using G = creps::Official<S, float, Cuda>;
  return measure_stylegan2_ada<G>(train::CrepsRecipe<G>{}, train::creps_trainer_options({.batch = batch}, S),
                                  nn::StyleGan2DiscriminatorConfig::creps(S), repeats);
}

}  // namespace pixsyn::bench
