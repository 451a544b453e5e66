#pragma once
// An independent double-precision forward of the CUDA CREPS engine's weights (backend::cuda::CrepsWeights),
// written from the spec (../shared/spec/creps.md §1), and random small models on the official scales: the
// reference of tests/cuda/test_cuda_creps.cpp. With a Rounding, the same forward rounds values to 16 bits
// at exactly the points where the engine's 16-bit mode stores or converts them (src/cuda/creps_fast.cu,
// creps_pixels_kernel.cuh), everything else in double: an emulation of that mode's numerics on the CPU
// (tests/models/test_creps_gpu_numerics.cpp), which shows where its error comes from.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "pixsyn/backend/cuda/creps_fast.hpp"
#include "pixsyn/coords/grid.hpp"
#include "pixsyn/core/philox.hpp"
#include "pixsyn/core/tensor.hpp"
#include "pixsyn/models/creps.hpp"
#include "support/cips_fixtures.hpp"

namespace pixsyn::test::creps_engine {

using backend::cuda::CrepsWeights;
using backend::cuda::LinearLayer;
using backend::cuda::ModulatedLayer;

inline std::vector<float> normal(std::int64_t n, std::uint64_t& seed, double scale = 1, double offset = 0) {
  auto v = Tensor<float>::randn({n}, Philox{seed++}).to_vector();
  for (auto& x : v) x = static_cast<float>(x * scale + offset);
  return v;
}

// Shapes of a small CREPS: K bi-line channels, thickness D, input width, fc widths of b4.fc1 and each level.
struct ModelShape {
  std::int64_t k, rank, input, style_dim;
  std::vector<std::int64_t> widths;  // b4.fc1 out, then one per level (fc0 and fc1 out)
  bool multi = true;                 // decoders per level, or decoder_last only
};

// Random weights on the official scales: raw N(0, 1) modulated weights, affines with gain 1/√w_dim and
// biases 1 + noise, decoders with gain 1/√in, and random biases everywhere, so that every bias is exercised.
inline CrepsWeights random_model(const ModelShape& s, std::uint64_t seed) {
  CrepsWeights m;
  m.style_dim = s.style_dim, m.channels = s.k, m.rank = s.rank, m.input_channels = s.input;
  const double affine_gain = 1 / std::sqrt(double(s.style_dim));
  m.freqs = normal(s.input / 2 * s.rank, seed, 10);
  m.input_weight = normal(s.input * 2 * s.rank, seed);
  m.input_modulation = normal(s.input * 2 * s.rank * s.style_dim, seed, affine_gain);
  m.input_modulation_bias = normal(s.input * 2 * s.rank, seed, 0.2, 1);
  auto modulated = [&](std::int64_t in, std::int64_t out, double gain) {
    return ModulatedLayer{.in = in,
                          .out = out,
                          .weight = normal(in * out, seed, gain),
                          .modulation = normal(in * s.style_dim, seed, affine_gain),
                          .modulation_bias = normal(in, seed, 0.2, 1),
                          .bias = normal(out, seed, 0.3)};
  };
  auto linear = [&](std::int64_t in, std::int64_t out) {
    return LinearLayer{in, out, normal(in * out, seed, 1 / std::sqrt(double(in))), normal(out, seed, 0.3)};
  };
  auto decoder = [&] {
    return std::array<LinearLayer, 4>{linear(s.k, 2 * s.k), linear(2 * s.k, 4 * s.k), linear(4 * s.k, 2 * s.k),
                                      linear(2 * s.k, s.k)};
  };
  m.fcs.push_back(modulated(s.input, s.widths[0], 1));
  for (std::size_t l = 1; l < s.widths.size(); ++l) {
    m.fcs.push_back(modulated(s.widths[l - 1], s.widths[l], 1));
    m.fcs.push_back(modulated(s.widths[l], s.widths[l], 1));
    m.tores.push_back(modulated(s.widths[l], s.k, 1 / std::sqrt(double(s.widths[l]))));
    if (s.multi && l > 1) m.decoders.push_back(decoder());
  }
  m.decoder_last = decoder();
  m.decoder_img = linear(s.k, 3);
  m.block0 = {modulated(s.k, 4 * s.k, 1), modulated(4 * s.k, 4 * s.k, 1),
              modulated(4 * s.k, 3, 1 / std::sqrt(double(4 * s.k)))};
  m.block1 = {modulated(4 * s.k, 2 * s.k, 1), modulated(2 * s.k, 2 * s.k, 1),
              modulated(2 * s.k, 3, 1 / std::sqrt(double(2 * s.k)))};
  return m;
}

// The random models of the GPU tests, and the renders each is checked on: grids of ragged sizes over
// different spans, one w or one per layer, and a point set.
struct RandomModel {
  ModelShape shape;
  const char* name;
  std::uint64_t seed;
};
inline const RandomModel random_models[] = {
    {{.k = 32, .rank = 8, .input = 64, .style_dim = 24, .widths = {64, 64, 48, 40}}, "K 32, D 8", 1},
    {{.k = 16, .rank = 4, .input = 48, .style_dim = 16, .widths = {40, 56, 24}}, "K 16, D 4", 2},
    {{.k = 16, .rank = 3, .input = 32, .style_dim = 16, .widths = {36, 20, 12}}, "K 16, D 3, odd widths", 3},
    {{.k = 32, .rank = 8, .input = 64, .style_dim = 24, .widths = {64, 64, 48, 40}, .multi = false},
     "single decoder",
     4}};

struct Case {
  std::int64_t batch;
  bool per_layer, diagonal;
  std::vector<float> rows, cols, ws;
};

// n coordinates from `from` to `to`, end points included (coords::linspace).
inline std::vector<float> axis(std::int64_t n, float from, float to) {
  return coords::linspace<float>(from, to, n).to_vector();
}

inline std::vector<Case> cases(const RandomModel& model, std::int64_t num_ws) {
  std::uint64_t s = model.seed + 100;
  const std::vector<float> py = normal(37, s, 0.4, 0.5), px = normal(37, s, 0.4, 0.5);
  std::vector<Case> out = {{1, false, false, axis(9, 0, 1), axis(21, 0, 1), {}},
                           {3, true, false, axis(17, -0.2f, 1.3f), axis(8, 0.1f, 0.9f), {}},
                           {2, false, true, py, px, {}}};
  for (auto& c : out) c.ws = normal(c.batch * (c.per_layer ? num_ws : 1) * model.shape.style_dim, s);
  return out;
}

// ---- The generators of the GPU tests (render::CudaCreps against the CPU creps::Generator).

// A small model with K = 32 and 64-wide layers (the fixtures have K = 16), as creps::Generator<k32>(5).
inline constexpr creps::Config k32{.size = 32,
                                   .z_dim = 32,
                                   .w_dim = 32,
                                   .mapping_layers = 2,
                                   .channel_base = 1024,
                                   .channel_max = 64,
                                   .biline_channels = 32};
inline constexpr std::uint64_t k32_seed = 5;

// What a generator is rendered at: its ws, the grid's row and column coordinates, a point set (ys, xs), and
// for a fixture the PyTorch reference RGB of the grid (else undefined).
struct GeneratorInputs {
  Tensor<float> ws, rows, cols, ys, xs, rgb;
};

// Loads fixture `name` (tests/fixtures/creps) into g: its inputs, ws truncated as the fixture says.
template <creps::Config C>
GeneratorInputs load_generator_fixture(creps::Generator<C>& g, const std::string& name) {
  const auto [weights, fixture, metadata] = load_fixture("creps", name);
  g.load_state_dict(weights);
  const auto w = g.map(fixture.at("fixture.z"));
  return {fixture.count("fixture.ws") ? fixture.at("fixture.ws")
                                      : creps::truncate(w, g.w_avg(), std::stod(metadata.at("truncation"))),
          fixture.at("fixture.rows"),
          fixture.at("fixture.cols"),
          fixture.at("fixture.ys"),
          fixture.at("fixture.xs"),
          fixture.at("fixture.rgb")};
}

// The random generator's inputs: three samples, a 9 × 21 grid, 40 points.
inline GeneratorInputs k32_inputs(const creps::Generator<k32>& g) {
  std::uint64_t seed = 7;
  const auto ys = normal(40, seed, 0.4, 0.5), xs = normal(40, seed, 0.4, 0.5);
  return {g.map(Tensor<float>::randn({3, k32.z_dim}, Philox{6})),
          coords::linspace<float>(0, 1, 9),
          coords::linspace<float>(-0.1f, 1.2f, 21),
          Tensor<float>::from(ys, {40}),
          Tensor<float>::from(xs, {40}),
          {}};
}

// ---- Rounding to 16 bits.

enum class Format { exact, bf16, fp16 };

// v as the GPU stores it in the format: converted to fp32, then rounded to the nearest (ties to even)
// bf16 or fp16, fp16 with its subnormals and saturating at ±65504 (as the per-pixel kernel converts; the
// engine's other conversions would give infinity there, which the tests' models never reach).
inline double round_to(double v, Format f) {
  const float x = static_cast<float>(v);
  if (f == Format::exact || x == 0 || !std::isfinite(x)) return f == Format::exact ? v : x;
  int exponent = 0;
  std::frexp(x, &exponent);  // x = m 2^exponent, 0.5 ≤ |m| < 1
  int lsb = exponent - (f == Format::bf16 ? 8 : 11);
  if (f == Format::fp16) lsb = std::max(lsb, -24);
  const double r = std::ldexp(std::nearbyint(std::ldexp(double(x), -lsb)), lsb);
  return f == Format::fp16 ? std::clamp(r, -65504.0, 65504.0) : r;
}

// Where the engine rounds (exact everywhere: the reference). The bi-line path stores its GEMM operands in
// a 16-bit format: the input encoding, the folded fc and ToRes weights, the fc layers' outputs (ToRes
// accumulates in fp32, the embeddings are fp32). The per-pixel chain runs fp16 operands with fp32
// accumulators: each layer's input and weights rounded, the decoders' hidden layers finished in fp16
// arithmetic (bias added to the rounded sum, leaky ReLU with fp16's 0.2, their √2 in the next layer's
// fp16 weights) when packed_hidden; the refinement blocks' ToRes weights stay fp32.
struct Rounding {
  Format input = Format::exact, fc_weights = Format::exact, fc_values = Format::exact, tores_weights = Format::exact;
  Format pixels = Format::exact;  // exact or fp16
  bool packed_hidden = false;
};

// The engine's 16-bit mode (Precision::bf16 on CREPS): fp16 operands everywhere, fp32 accumulation.
inline constexpr Rounding engine_16bit{Format::fp16, Format::fp16, Format::fp16, Format::fp16, Format::fp16, true};

// ---- The forward, in double (the input phases in fp32, as the official code computes them).

using Vec = std::vector<double>;
inline double lrelu(double v) { return (v > 0 ? v : 0.2 * v) * std::sqrt(2.0); }
inline double clamp(double v, double c) { return std::min(std::max(v, -c), c); }
inline void round_all(Vec& v, Format f) {
  if (f != Format::exact)
    for (auto& x : v) x = round_to(x, f);
}

inline Vec styles(const ModulatedLayer& l, const float* w, std::int64_t dim) {
  Vec s(l.in);
  for (std::int64_t i = 0; i < l.in; ++i) {
    double acc = l.modulation_bias[i];
    for (std::int64_t k = 0; k < dim; ++k) acc += double(l.modulation[i * dim + k]) * w[k];
    s[i] = acc;
  }
  return s;
}

// A modulated layer's weights (out, in) folded with its styles (demodulated when asked), stored as `format`.
inline Vec fold(const ModulatedLayer& l, const float* w, std::int64_t dim, bool demodulate,
                Format format = Format::exact) {
  const Vec s = styles(l, w, dim);
  Vec folded(l.in * l.out);
  for (std::int64_t o = 0; o < l.out; ++o) {
    double norm = 0;
    for (std::int64_t i = 0; i < l.in; ++i) {
      folded[o * l.in + i] = double(l.weight[o * l.in + i]) * s[i];
      norm += folded[o * l.in + i] * folded[o * l.in + i];
    }
    const double d = demodulate ? 1 / std::sqrt(norm + 1e-8) : 1;
    for (std::int64_t i = 0; i < l.in; ++i) folded[o * l.in + i] = round_to(folded[o * l.in + i] * d, format);
  }
  return folded;
}

// x (rows, in) through layer l with its folded weights: bias, leaky ReLU·√2 when act, clamp to ±c.
inline Vec apply(const ModulatedLayer& l, const Vec& folded, const Vec& x, bool act, double c) {
  const std::int64_t rows = static_cast<std::int64_t>(x.size()) / l.in;
  Vec y(rows * l.out);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t o = 0; o < l.out; ++o) {
      double acc = 0;
      for (std::int64_t i = 0; i < l.in; ++i) acc += folded[o * l.in + i] * x[r * l.in + i];
      acc += l.bias[o];
      y[r * l.out + o] = clamp(act ? lrelu(acc) : acc, c);
    }
  return y;
}

inline Vec linear(const LinearLayer& l, const Vec& x, bool act) {
  Vec y(l.out);
  for (std::int64_t o = 0; o < l.out; ++o) {
    double acc = l.bias[o];
    for (std::int64_t i = 0; i < l.in; ++i) acc += double(l.weight[o * l.in + i]) * x[i];
    y[o] = act ? lrelu(acc) : acc;
  }
  return y;
}

// A decoder's four weight matrices as the per-pixel kernel reads them: in the per-pixel format, with
// packed_hidden the √2 gain of layers 1 to 3 moved into the weights of layers 2 to 4.
using DecoderWeights = std::array<Vec, 4>;
inline DecoderWeights decoder_weights(const std::array<LinearLayer, 4>& d, const Rounding& r) {
  const double gain = static_cast<float>(std::sqrt(2.0));
  DecoderWeights out;
  for (int i = 0; i < 4; ++i) {
    const double scale = r.packed_hidden && i > 0 ? gain : 1.0;
    for (float v : d[i].weight) out[i].push_back(round_to(v * scale, r.pixels));
  }
  return out;
}

// A decoder, K → 2K → 4K → 2K → K with leaky ReLU·√2 after every layer; with fp16 pixels, as the per-pixel
// kernel computes it: inputs rounded, and with packed_hidden the hidden layers finished in fp16 (the rounded
// sum plus the rounded bias, rounded; leaky ReLU with fp16's 0.2, rounded).
inline Vec decoder(const std::array<LinearLayer, 4>& d, const DecoderWeights& weights, Vec x, const Rounding& r) {
  const Format h = r.pixels;
  const double slope = round_to(0.2, h);
  round_all(x, h);
  for (int i = 0; i < 4; ++i) {
    const LinearLayer& l = d[i];
    Vec y(l.out);
    for (std::int64_t o = 0; o < l.out; ++o) {
      double acc = 0;
      for (std::int64_t k = 0; k < l.in; ++k) acc += weights[i][o * l.in + k] * x[k];
      if (i < 3 && r.packed_hidden) {
        const double v = round_to(round_to(acc, h) + round_to(l.bias[o], h), h);
        y[o] = std::max(v, round_to(v * slope, h));
      } else {
        y[o] = lrelu(acc + l.bias[o]);
        if (i < 3) y[o] = round_to(y[o], h);
      }
    }
    x = y;
  }
  return x;
}

// ws (batch, n_ws, dim) with n_ws = num_ws (per layer) or 1; returns RGB (batch, 3, pixels).
inline Vec forward(const CrepsWeights& m, const std::vector<float>& ws, std::int64_t batch, bool per_layer,
                   const std::vector<float>& rows, const std::vector<float>& cols, bool diagonal,
                   const Rounding& r = {}) {
  const std::int64_t K = m.channels, D = m.rank, C = m.input_channels, L = std::int64_t(m.tores.size());
  const std::int64_t num_ws = 2 * L + 3, n_ws = per_layer ? num_ws : 1, dim = m.style_dim;
  const std::int64_t H = std::int64_t(rows.size()), W = std::int64_t(cols.size()), points = H + W;
  const std::int64_t pixels = diagonal ? W : H * W;
  Vec out(batch * 3 * pixels);
  for (std::int64_t b = 0; b < batch; ++b) {
    auto w = [&](std::int64_t i) { return ws.data() + (b * n_ws + (per_layer ? i : 0)) * dim; };
    // The input encoding of every (point, slot) row: rows' slots 0 .. D - 1, columns' D .. 2D - 1.
    Vec a(C * 2 * D);
    for (std::int64_t i = 0; i < C * 2 * D; ++i) {
      double acc = m.input_modulation_bias[i];
      for (std::int64_t k = 0; k < dim; ++k) acc += double(m.input_modulation[i * dim + k]) * w(0)[k];
      a[i] = acc;
    }
    Vec x(points * D * C);
    for (std::int64_t p = 0; p < points; ++p)
      for (std::int64_t d = 0; d < D; ++d) {
        const bool column = p >= H;
        const float t = column ? cols[p - H] : rows[p];
        const std::int64_t m_slot = (column ? D : 0) + d;
        for (std::int64_t c = 0; c < C; ++c) {
          const std::int64_t c2 = c < C / 2 ? c : c - C / 2;
          const float theta = (t * m.freqs[c2 * D + d]) * 6.28318530717958647692f;
          const double e = std::sin(double(c < C / 2 ? theta : theta + 1.57079632679489661923f));
          x[(p * D + d) * C + c] = round_to(
              e * double(m.input_weight[c * 2 * D + m_slot]) * a[c * 2 * D + m_slot] / std::sqrt(double(C)), r.input);
        }
      }
    auto fc = [&](std::size_t i, std::int64_t style) {
      x = apply(m.fcs[i], fold(m.fcs[i], w(style), dim, true, r.fc_weights), x, true, m.clamp);
      round_all(x, r.fc_values);
    };
    fc(0, 1);
    Vec sum(points * D * K, 0.0);
    std::vector<Vec> f;  // per level: F (pixels, K)
    for (std::int64_t l = 0; l < L; ++l) {
      fc(1 + 2 * l, 2 * l + 1);
      fc(2 + 2 * l, 2 * l + 2);
      const Vec t = apply(m.tores[l], fold(m.tores[l], w(2 * l + 3), dim, false, r.tores_weights), x, false, m.clamp);
      for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += t[i];
      Vec level(pixels * K);
      for (std::int64_t px = 0; px < pixels; ++px) {
        const std::int64_t i = diagonal ? px : px / W, j = diagonal ? px : px % W;
        for (std::int64_t c = 0; c < K; ++c) {
          double acc = 0;
          for (std::int64_t d = 0; d < D; ++d) acc += sum[(i * D + d) * K + c] * sum[((H + j) * D + d) * K + c];
          level[px * K + c] = 0.5 * acc;
        }
      }
      f.push_back(level);
    }
    const std::int64_t first = m.decoders.empty() ? L - 1 : 0;
    std::vector<DecoderWeights> decoders;
    for (const auto& d : m.decoders) decoders.push_back(decoder_weights(d, r));
    const DecoderWeights last = decoder_weights(m.decoder_last, r);
    // The refinement blocks (the last w): fc0 and fc1 folded in the per-pixel format, their inputs rounded
    // to it; ToRes folded in fp32.
    const float* wl = w(num_ws - 1);
    std::array<Vec, 6> blocks;
    for (int i = 0; i < 6; ++i) {
      const ModulatedLayer& l = (i < 3 ? m.block0 : m.block1)[i % 3];
      blocks[i] = fold(l, wl, dim, i % 3 < 2, i % 3 < 2 ? r.pixels : Format::exact);
    }
    for (std::int64_t px = 0; px < pixels; ++px) {
      Vec e(f[first].begin() + px * K, f[first].begin() + (px + 1) * K);
      for (std::int64_t l = first + 1; l < L; ++l) {
        e = decoder(m.decoders[l - 1], decoders[l - 1], e, r);
        for (std::int64_t c = 0; c < K; ++c) e[c] += f[l][px * K + c];
      }
      e = decoder(m.decoder_last, last, e, r);
      Vec rgb = linear(m.decoder_img, e, false);
      for (int k = 0; k < 2; ++k) {
        const auto& block = k == 0 ? m.block0 : m.block1;
        for (int i = 0; i < 2; ++i) {
          round_all(e, r.pixels);
          e = apply(block[i], blocks[3 * k + i], e, true, m.clamp);
        }
        const Vec y = apply(block[2], blocks[3 * k + 2], e, false, m.clamp);
        for (int o = 0; o < 3; ++o) rgb[o] += y[o];
      }
      for (int o = 0; o < 3; ++o) out[(b * 3 + o) * pixels + px] = rgb[o];
    }
  }
  return out;
}

}  // namespace pixsyn::test::creps_engine
