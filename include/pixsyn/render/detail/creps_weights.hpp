#pragma once
// A creps::Generator's synthesis weights as the plain arrays of backend::cuda::CrepsWeights (runtime gains
// applied as the CPU layers apply them): what the CUDA renderer (cuda_creps.hpp) uploads. Plain C++, so
// that CPU code (the tests' emulation of the GPU's 16-bit numerics) reads the same weights.
#include <array>
#include <cmath>
#include <cstdint>

#include "pixsyn/backend/cuda/creps_fast.hpp"
#include "pixsyn/models/creps/generator.hpp"
#include "pixsyn/render/detail/host_weights.hpp"

namespace pixsyn::render::detail {

inline double inverse_root(std::int64_t n) { return 1.0 / std::sqrt(static_cast<double>(n)); }

// An equalized linear layer (learning-rate multiplier 1, as every CREPS affine and decoder layer).
inline backend::cuda::LinearLayer creps_linear(const nn::EqualLinear<float>& l) {
  const std::int64_t in = l.weight.dim(1), out = l.weight.dim(0);
  return {in, out, scaled(l.weight.value(), inverse_root(in)), values(l.bias.value())};
}

// A modulated layer: the weight with its runtime gain, and a styles gain moved onto the weight (the same
// product, w·(s g) = (w g)·s).
inline backend::cuda::ModulatedLayer creps_modulated(const nn::ModulatedFc<float>& fc) {
  const std::int64_t in = fc.in_channels(), out = fc.out_channels();
  const Tensor<float> matrix = fc.matrix<Tensor<float>>();
  const auto affine = creps_linear(fc.affine);
  return {.in = in,
          .out = out,
          .weight = fc.spec().gain == nn::ModulatedGain::styles ? scaled(matrix, inverse_root(in)) : values(matrix),
          .modulation = affine.weight,
          .modulation_bias = affine.bias,
          .bias = values(fc.bias.value()),
          .noise_weight = 0};
}

inline std::array<backend::cuda::LinearLayer, 4> creps_decoder(const creps::Decoder<float>& d) {
  std::array<backend::cuda::LinearLayer, 4> out;
  for (std::size_t i = 0; i < 4; ++i) out[i] = creps_linear(d[i]);
  return out;
}

template <creps::Config C>
backend::cuda::CrepsWeights creps_weights(const creps::Generator<C, float>& g) {
  const auto& s = g.synthesis;
  const auto& input = s.input();
  backend::cuda::CrepsWeights wt;
  wt.style_dim = C.w_dim, wt.channels = C.biline_channels, wt.rank = C.thickness;
  wt.clamp = static_cast<float>(C.clamp);
  wt.input_channels = input.channels();
  wt.freqs = values(input.freqs);
  wt.input_weight = values(input.weight.value());
  const auto affine = creps_linear(input.affine);
  wt.input_modulation = affine.weight, wt.input_modulation_bias = affine.bias;
  wt.fcs.push_back(creps_modulated(s.blocks.front()->fc1));
  for (std::size_t i = 1; i < s.blocks.size(); ++i) {
    wt.fcs.push_back(creps_modulated(*s.blocks[i]->fc0));
    wt.fcs.push_back(creps_modulated(s.blocks[i]->fc1));
    wt.tores.push_back(creps_modulated(s.blocks[i]->tores));
  }
  // decoder_8 never runs: the levels after the first take decoder_16 .. decoder_R.
  for (std::size_t i = 1; i < s.decoders.size(); ++i) wt.decoders.push_back(creps_decoder(*s.decoders[i]));
  wt.decoder_last = creps_decoder(*s.decoder_last);
  wt.decoder_img = creps_linear(*s.decoder_img);
  for (int b = 0; b < 2; ++b) {
    const auto& block = *s.refinement[b];
    auto& dst = b == 0 ? wt.block0 : wt.block1;
    dst = {creps_modulated(*block.fc0), creps_modulated(block.fc1), creps_modulated(block.tores)};
  }
  return wt;
}

}  // namespace pixsyn::render::detail
