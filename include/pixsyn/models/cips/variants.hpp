#pragma once
// The CIPS paper's variants (Table 3) as types, for any power-of-two size S.
#include "pixsyn/models/cips/generator.hpp"

namespace pixsyn::cips {

// Official CIPSskip, the paper's "Main": Fourier features + learned embedding, ToRGB skips.
template <int S, class T = float, class D = Cpu>
using Skips = Generator<Config{.size = S}, T, D>;
// Official CIPSres: residual blocks and one final ToRGB.
template <int S, class T = float, class D = Cpu>
using Residual = Generator<Config{.size = S, .topology = Topology::residual}, T, D>;
// "Base": the plain FC stack with one final ToRGB (no skips, no residual).
template <int S, class T = float, class D = Cpu>
using Base = Generator<Config{.size = S, .topology = Topology::base}, T, D>;
// "NE": no learned coordinate embedding, Fourier features only.
template <int S, class T = float, class D = Cpu>
using NoEmbedding = Generator<Config{.size = S, .embedding = Embedding::fourier_only}, T, D>;
// "No Fourier": the learned embedding only.
template <int S, class T = float, class D = Cpu>
using NoFourier = Generator<Config{.size = S, .embedding = Embedding::learned_only}, T, D>;
// "Sine": sine activations (the official 'sin' StyledConv option) and no Fourier features.
template <int S, class T = float, class D = Cpu>
using Sine = Generator<Config{.size = S, .embedding = Embedding::learned_only, .activation = Activation::sine}, T, D>;

}  // namespace pixsyn::cips
