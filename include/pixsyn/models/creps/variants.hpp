#pragma once
// The CREPS paper's variants (Table 4) as types, for any power-of-two size S and thickness Dk
// (docs/creps.md says how pixsyn reads the ablations).
#include "pixsyn/models/creps/generator.hpp"

namespace pixsyn::creps {

// The official model (`train.py --cfg=creps`): thickness 8, a decoder per level.
template <int S, class T = float, class D = Cpu>
using Official = Generator<Config{.size = S}, T, D>;
// Layer-wise fusion (a decoder per level) with bi-lines of thickness Dk; MultiDecoder<S, 8> is Official<S>.
template <int S, int Dk, class T = float, class D = Cpu>
using MultiDecoder = Generator<Config{.size = S, .thickness = Dk}, T, D>;
// The accumulated bi-line of thickness Dk composed once, after the last block, into one decoder.
template <int S, int Dk, class T = float, class D = Cpu>
using SingleDecoder = Generator<Config{.size = S, .thickness = Dk, .fusion = Fusion::final}, T, D>;
// CREPS-NB: dense 2D features (no bi-lines), hence no per-level decoders.
template <int S, class T = float, class D = Cpu>
using NoBiline = Generator<Config{.size = S, .features = Features::dense, .fusion = Fusion::final}, T, D>;

// A narrow model for training on small budgets (pixsyn train --max-channels W): the official architecture with
// every block width capped at W, z and w of width W, and min(W, 32) bi-line channels.
template <int S, int W>
inline constexpr Config narrow_config{
    .size = S, .z_dim = W, .w_dim = W, .channel_max = W, .biline_channels = W < 32 ? W : 32};
template <int S, int W, class T = float, class D = Cpu>
using Narrow = Generator<narrow_config<S, W>, T, D>;

}  // namespace pixsyn::creps
