#pragma once
// CIPS's patch-training forward (cips.md §8): fake patches rendered at the coordinates of the real patches
// (train/multiscale_patches.hpp), one set of points per sample. Any grid other than the full one reads the
// learned embedding bilinearly, as the official generator does in training too.
#include <cmath>
#include <cstdint>

#include "pixsyn/models/cips/generator.hpp"

namespace pixsyn::cips {

// w (B, style_dim), xy (B, P * P, 2) in row-major patch order -> images (B, 3, P, P).
template <class G, class V, class Noise>
V synthesize_patches(const G& g, const V& w, const V& xy, const Noise& noise) {
  const std::int64_t batch = xy.dim(0), points = xy.rank() == 3 ? xy.dim(1) : 0;
  const auto side = static_cast<std::int64_t>(std::llround(std::sqrt(static_cast<double>(points))));
  pixsyn::detail::check(xy.rank() == 3 && side * side == points && points > 0,
                        "cips::synthesize_patches: points have shape ", xy.shape(), "; expected (B, P * P, 2)");
  return permute(reshape(g.synthesize(w, xy, noise), Shape{batch, side, side, 3}), {0, 3, 1, 2});
}

}  // namespace pixsyn::cips
