#pragma once
// CREPS's training forward (creps.md §5; StyleGAN3's loss.py run_G): z through the mapping, broadcast to
// every layer, optionally style-mixed (the official creps config sets the probability to 0; StyleGAN2's
// config 0.9), then the image on the training grid, linspace(0, 1, R) on both axes. The path-length term
// differentiates with respect to the mixed styles (B, num_ws, w_dim). The draws are host tensors; on the
// GPU the latents are copied over.
#include <cstdint>

#include "pixsyn/models/creps/generator.hpp"
#include "pixsyn/nn/style_mixing.hpp"
#include "pixsyn/ops/transfer.hpp"

namespace pixsyn::creps {

template <class T>
struct TrainingDraw {
  Tensor<T> z;      // (B, z_dim)
  Tensor<T> mix_z;  // (B, z_dim), used when cutoff < num_ws
  int cutoff = 0;   // the first style row from mix_z; num_ws when not mixed
};

template <Config C, class T>
TrainingDraw<T> draw_training(Philox& gen, std::int64_t batch, double mixing_probability) {
  pixsyn::detail::check(batch > 0, "creps::draw_training: batch ", batch, " is not positive");
  TrainingDraw<T> d;
  d.z = Tensor<T>::randn({batch, C.z_dim}, gen);
  d.mix_z = Tensor<T>::randn({batch, C.z_dim}, gen);
  d.cutoff = nn::draw_mixing_cutoff(gen, C.num_ws(), mixing_probability);
  return d;
}

template <class V>
struct TrainingImages {
  V images;  // (B, 3, R, R)
  V ws;      // (B, num_ws, w_dim): the synthesis input, the path-length input
};

// The training grid of side R: linspace(0, 1, R).
template <class T>
Tensor<T> training_axis(int size) {
  auto t = Tensor<T>::empty({size});
  for (int i = 0; i < size; ++i) t.data()[i] = static_cast<T>(size == 1 ? 0.0 : static_cast<double>(i) / (size - 1));
  return t;
}

// The images of rows [0, batch) of a training draw.
template <Config C, class T, class D>
TrainingImages<Var<T, D>> synthesize_training(const Generator<C, T, D>& g, const TrainingDraw<T>& draw,
                                              std::int64_t batch) {
  pixsyn::detail::check(batch > 0 && batch <= draw.z.dim(0), "creps::synthesize_training: batch ", batch,
                        " is outside 1 .. ", draw.z.dim(0));
  const auto rows = [&](const Tensor<T>& z) {
    return Var<T, D>::constant(pixsyn::detail::on_device<D>(slice(z, 0, 0, batch)));
  };
  const Var<T, D> w = g.map(rows(draw.z));
  const Var<T, D> w_mix = draw.cutoff < C.num_ws() ? g.map(rows(draw.mix_z)) : Var<T, D>();
  const Var<T, D> ws = nn::mixed_styles(w, w_mix, draw.cutoff, C.num_ws());
  const auto axis = training_axis<T>(C.size);
  return {g.synthesize_grid(ws, axis, axis), ws};
}

}  // namespace pixsyn::creps
