#pragma once
// cips::Config: a CIPS generator's architecture as a structural aggregate, usable as a template
// argument. Defaults are the official CIPSskip (size 256, hidden 512, style 512, 8 mapping layers at
// lr_mul 0.01, channel multiplier 2).
#include <array>

#include "pixsyn/nn/styled_conv.hpp"

namespace pixsyn::cips {

// How the FC stack reaches RGB: official CIPSskip (ToRGB after every block, summed), official CIPSres
// (residual blocks, one final ToRGB), or the paper's "base" (plain stack, one final ToRGB).
enum class Topology { skips, residual, base };
// Which coordinate encodings feed the first layer.
enum class Embedding { fourier_and_learned, fourier_only, learned_only };
using nn::Activation;

inline constexpr int max_blocks = 10;

struct Config {
  int size = 256;    // side of the learned embedding table (and of the training images)
  int hidden = 512;  // width of the Fourier features and of the embedding
  int style_dim = 512;
  int mapping_layers = 8;
  double mapping_lr_mul = 0.01;
  int channel_multiplier = 2;
  Topology topology = Topology::skips;
  Embedding embedding = Embedding::fourier_and_learned;
  Activation activation = Activation::leaky_relu;
  // Explicit widths of blocks 0 .. log2(size) - 2; all zero means the official table.
  std::array<int, max_blocks> channels{};
  int max_channels = 0;  // caps every official width when > 0 (small test models)

  constexpr int log_size() const {
    int l = 0;
    while ((1 << l) < size) ++l;
    return l;
  }
  constexpr int blocks() const { return log_size() - 1; }
  constexpr bool has_fourier() const { return embedding != Embedding::learned_only; }
  constexpr bool has_learned() const { return embedding != Embedding::fourier_only; }
  constexpr int input_width() const { return embedding == Embedding::fourier_and_learned ? 2 * hidden : hidden; }
  // Width of block i: the official channel table (cips.md §1.1/§1.2) unless overridden.
  constexpr int channel(int i) const {
    if (channels[0] != 0) return channels[i];
    const int cm = channel_multiplier;
    const bool res = topology == Topology::residual;
    const int table[] = {512, 512, 512, 512, 256 * cm, 128 * cm, 64 * cm, (res ? 64 : 32) * cm, (res ? 32 : 16) * cm};
    const int c = table[i < 9 ? i : 8];
    return max_channels > 0 && c > max_channels ? max_channels : c;
  }
  // Number of StyledConv layers, i.e. of noise maps per forward.
  constexpr int styled_convs() const { return 1 + 2 * blocks(); }
  constexpr bool explicit_channels_valid() const {
    if (channels[0] == 0) return true;
    for (int i = 0; i < blocks(); ++i)
      if (channels[i] <= 0) return false;
    return true;
  }
};

}  // namespace pixsyn::cips
