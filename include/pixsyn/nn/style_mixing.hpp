#pragma once
// Style mixing, the StyleGAN2-ADA regulariser of the training forward (creps.md §5, alis.md §4): with
// probability p, the style rows from a random cutoff in [1, num_ws) onward come from a second latent.
// One cutoff and one coin flip are shared by the whole minibatch, as the official run_G draws them.
#include <cmath>
#include <cstdint>

#include "pixsyn/autograd/functions/layout.hpp"
#include "pixsyn/autograd/functions/reduce.hpp"
#include "pixsyn/core/error.hpp"
#include "pixsyn/core/philox.hpp"

namespace pixsyn::nn {

// The first style row taken from the mixing latent: uniform in [1, num_ws) with probability `probability`,
// else num_ws (no mixing). Two uniforms from `gen`.
inline int draw_mixing_cutoff(Philox& gen, int num_ws, double probability) {
  pixsyn::detail::check(num_ws >= 1 && probability >= 0 && probability <= 1, "draw_mixing_cutoff: num_ws ", num_ws,
                        " must be positive and the probability ", probability, " in [0, 1]");
  const auto u = Tensor<double>::rand({2}, gen);
  if (num_ws < 2 || u.data()[1] >= probability) return num_ws;
  return 1 + std::min(static_cast<int>(u.data()[0] * (num_ws - 1)), num_ws - 2);
}

// w (B, w_dim) broadcast to every layer: (B, num_ws, w_dim), the synthesis input of the official code.
template <class V>
V broadcast_styles(const V& w, int num_ws) {
  pixsyn::detail::check(w.rank() == 2 && num_ws >= 1, "broadcast_styles: w has shape ", w.shape(),
                        "; expected (batch, w_dim)");
  return broadcast_to(reshape(w, Shape{w.dim(0), 1, w.dim(1)}), Shape{w.dim(0), num_ws, w.dim(1)});
}

// Rows [0, cutoff) of w and rows [cutoff, num_ws) of w_mix, both (B, w_dim) -> (B, num_ws, w_dim).
// cutoff == num_ws: w alone (w_mix may be undefined).
template <class V>
V mixed_styles(const V& w, const V& w_mix, int cutoff, int num_ws) {
  pixsyn::detail::check(cutoff >= 1 && cutoff <= num_ws, "mixed_styles: cutoff ", cutoff, " is outside 1 .. ", num_ws);
  const V ws = broadcast_styles(w, num_ws);
  if (cutoff == num_ws) return ws;
  pixsyn::detail::check(w_mix.defined() && w_mix.shape() == w.shape(), "mixed_styles: the mixing latent's w has shape ",
                        w_mix.defined() ? w_mix.shape() : Shape{}, ", not ", w.shape());
  return concat(std::vector<V>{slice(ws, 1, 0, cutoff), slice(broadcast_styles(w_mix, num_ws), 1, cutoff, num_ws)}, 1);
}

}  // namespace pixsyn::nn
