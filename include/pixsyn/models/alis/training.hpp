#pragma once
// ALIS's training forward (alis.md §4; the official loss.py run_G and Synthesis forward):
//   - three anchors per sample, left, centre and right, each its own latent through the mapping;
//   - style mixing, drawn independently for the centre and each context anchor: with probability p a
//     cutoff in [1, num_ws) after which the rows come from a fresh latent (one cutoff per anchor for
//     the whole minibatch);
//   - a random left border delta in 0 .. D g - g - 1 per sample (the official draw never reaches
//     D g - g), scaled by the max_shift_strength buffer, which ramps from 0 to 1 over the first kimg;
//   - the patchwise generator on the frame; the path-length term differentiates with respect to the
//     centre anchor's styles only.
// Every random number is drawn up front (draw_training) so that a step is a function of its draws.
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "pixsyn/models/alis/generator.hpp"
#include "pixsyn/nn/style_mixing.hpp"

namespace pixsyn::alis {

template <class T>
struct TrainingDraw {
  Tensor<T> z;                      // (B, 3, z_dim): left, centre, right
  Tensor<T> mix_z;                  // (B, 3, z_dim): the mixing latents of the three anchors
  std::array<int, 3> cutoff{};      // per anchor: the first row from mix_z; num_ws when not mixed
  std::vector<std::int64_t> delta;  // left borders, before max_shift_strength
};

// The draws of one training forward of B frames; style mixing with probability mixing_probability
// (alis.yml: 0.9).
template <Config C, class T>
TrainingDraw<T> draw_training(Philox& gen, std::int64_t batch, double mixing_probability) {
  pixsyn::detail::check(batch > 0, "alis::draw_training: batch ", batch, " is not positive");
  TrainingDraw<T> d;
  d.z = Tensor<T>::randn({batch, 3, C.z_dim}, gen);
  d.mix_z = Tensor<T>::randn({batch, 3, C.z_dim}, gen);
  for (int a = 0; a < 3; ++a) d.cutoff[a] = nn::draw_mixing_cutoff(gen, C.num_ws(), mixing_probability);
  const auto u = Tensor<double>::rand({batch}, gen);
  const int choices = C.max_delta();  // 0 .. D g - g - 1, as the official randint(0, D g - g)
  for (std::int64_t b = 0; b < batch; ++b)
    d.delta.push_back(std::min(static_cast<std::int64_t>(u.data()[b] * choices), std::int64_t(choices - 1)));
  return d;
}

template <class V>
struct TrainingFrames {
  V images;  // (B, 3, R, R)
  V ws;      // the centre anchor's styles (B, num_ws, w_dim), the path-length input
};

// The frames of a training draw (rows [0, B) of it); noise as the synthesis options say (training: seeded).
template <Config C, class T, class D>
TrainingFrames<Var<T, D>> synthesize_training(const Generator<C, T, D>& g, const TrainingDraw<T>& draw,
                                              std::int64_t batch, const SynthesisOptions<T>& options = {}) {
  pixsyn::detail::check(batch > 0 && batch <= draw.z.dim(0), "alis::synthesize_training: batch ", batch,
                        " is outside 1 .. ", draw.z.dim(0));
  constexpr int n = C.num_ws();
  std::array<Var<T, D>, 3> anchors;
  Var<T, D> centre;
  for (int a = 0; a < 3; ++a) {
    const auto pick = [&](const Tensor<T>& z) {
      return Var<T, D>::constant(
          detail::on_device<D>(reshape(slice(slice(z, 0, 0, batch), 1, a, a + 1), Shape{batch, C.z_dim}).clone()));
    };
    const Var<T, D> w = g.map(pick(draw.z));
    const Var<T, D> w_mix = draw.cutoff[a] < n ? g.map(pick(draw.mix_z)) : Var<T, D>();
    const Var<T, D> ws = nn::mixed_styles(w, w_mix, draw.cutoff[a], n);
    if (a == 1) centre = ws;
    anchors[a] = reshape(ws, Shape{batch, 1, n, C.w_dim});
  }
  const std::vector<std::int64_t> delta(draw.delta.begin(), draw.delta.begin() + batch);
  return {g.synthesize(concat(std::vector<Var<T, D>>{anchors[0], anchors[1], anchors[2]}, 1), delta, options), centre};
}

// The training forward's tracking of w_avg: the centre anchor's w (row 0 of its styles; the context and
// mixing latents do not count), with SG2-ADA's beta 0.995.
template <Config C, class T, class D>
void track_w_avg(Generator<C, T, D>& g, const TrainingFrames<Var<T, D>>& frames, double beta = 0.995) {
  const Tensor<T, D>& ws = frames.ws.value();
  g.mapping.track_w_avg(reshape(slice(ws, 1, 0, 1), Shape{ws.dim(0), C.w_dim}), beta);
}

// The max_shift_strength buffer after a step that began with `images_seen` images seen: the official
// loop sets it to min(floor(images seen / 1000) / kimg_to_reach_max_shift_strength (1), 1) after every
// step, starting from 0 in a fresh model (so delta is 0 during the first kimg).
inline double shift_strength(std::int64_t images_seen) {
  return std::min(std::floor(static_cast<double>(images_seen) / 1000), 1.0);
}

}  // namespace pixsyn::alis
