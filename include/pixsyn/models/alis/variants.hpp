#pragma once
// The ALIS variants as types, for any power-of-two size S (docs/alis.md says how pixsyn reads them).
#include "pixsyn/models/alis/generator.hpp"

namespace pixsyn::alis {

// The released model (configs/alis.yml): CoordConst input, coordinate fusers, g = 2, D = 4.
template <int S, class T = float, class D = Cpu>
using Official = Generator<Config{.size = S}, T, D>;
// The released model with g patches per frame and anchors D/2 frames apart (D even); g must divide
// the input resolution 4 (1, 2 or 4).
template <int S, int Patches, int AnchorDistance, class T = float, class D = Cpu>
using Patchwise = Generator<Config{.size = S, .patches = Patches, .anchor_distance = AnchorDistance}, T, D>;
// The paper's "w/o coords" ablation: a learned constant input and no coordinate channels anywhere
// (official input.type const, coords.enabled false). Its patches see different constant columns,
// so adjacent frames do not tile.
template <int S, class T = float, class D = Cpu>
using NoCoords = Generator<Config{.size = S, .input = Input::constant, .coordinate_fusers = false}, T, D>;

// A narrow model for training on small budgets (pixsyn train --max-channels W): the released architecture with
// every block width capped at W and z, w of width W.
template <int S, int W>
inline constexpr Config narrow_config{.size = S, .z_dim = W, .w_dim = W, .channel_max = W};
template <int S, int W, class T = float, class D = Cpu>
using Narrow = Generator<narrow_config<S, W>, T, D>;

}  // namespace pixsyn::alis
