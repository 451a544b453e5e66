#include <doctest/doctest.h>

#include <pixsyn/autograd/backward.hpp>
#include <pixsyn/autograd/gradcheck.hpp>
#include <pixsyn/models/alis.hpp>

#include "support/alis_fixtures.hpp"
#include "support/cips_fixtures.hpp"
#include "support/errors.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

using namespace pixsyn;
using namespace pixsyn::test;

TEST_CASE("official parameter counts, key counts, names and shapes") {
  static_assert(alis::Official<256>::num_ws == 15 && alis::NoCoords<256>::num_ws == 14);
  static_assert(std::is_same_v<alis::Patchwise<256, 2, 4>, alis::Official<256>>);
  static_assert(alis::Config{}.fp16_block(32) && !alis::Config{}.fp16_block(16));
  static_assert(alis::Config{.size = 1024}.fp16_block(128) && !alis::Config{.size = 1024}.fp16_block(64));
  static_assert(!alis::Config{.fp16_resolutions = 0}.fp16_block(256));
  {
    alis::Official<256> g;
    CHECK(g.parameter_count() == 24111298);
    const auto keys = g.state_dict_keys();
    CHECK(keys.size() == 142);
    CHECK(keys[0] == "synthesis.max_shift_strength");
    CHECK(keys[1] == "synthesis.b4.resample_filter");
    CHECK(keys[2] == "synthesis.b4.input.input.input_column");
    CHECK(keys[3] == "synthesis.b4.input.input.basis");
    CHECK(keys[6] == "synthesis.b4.conv1.weight");
    CHECK(keys[7] == "synthesis.b4.conv1.noise_strength");
    CHECK(keys[8] == "synthesis.b4.conv1.bias");
    CHECK(keys[9] == "synthesis.b4.conv1.resample_filter");
    CHECK(keys[10] == "synthesis.b4.conv1.noise_const");
    CHECK(keys[11] == "synthesis.b4.conv1.affine.weight");
    CHECK(keys[13] == "synthesis.b4.torgb.weight");
    CHECK(keys[17] == "synthesis.b8.resample_filter");
    CHECK(keys[18] == "synthesis.b8.coords_fuser0.basis");
    CHECK(keys[19] == "synthesis.b8.conv0.weight");
    CHECK(keys[keys.size() - 5] == "mapping.w_avg");
    CHECK(keys.back() == "mapping.fc1.bias");
    const auto state = g.state_dict();
    CHECK(state.at("synthesis.max_shift_strength").data()[0] == 1.0f);
    CHECK(state.at("synthesis.b4.input.input.input_column").shape() == Shape{512, 4});
    CHECK(state.at("synthesis.b4.input.input.basis").shape() == Shape{4, 2});
    CHECK(state.at("synthesis.b4.input.input.affine.weight").shape() == Shape{512, 512});
    CHECK(state.at("synthesis.b4.conv1.weight").shape() == Shape{512, 520, 3, 3});
    CHECK(state.at("synthesis.b4.conv1.affine.weight").shape() == Shape{520, 512});
    CHECK(state.at("synthesis.b4.conv1.noise_strength").shape() == Shape{});
    CHECK(state.at("synthesis.b4.conv1.noise_const").shape() == Shape{4, 4});
    CHECK(state.at("synthesis.b4.torgb.weight").shape() == Shape{3, 512, 1, 1});
    const int rows[] = {8, 12, 16, 20, 24, 28};
    const std::int64_t conv0_in[] = {528, 536, 544, 552, 304, 184};
    for (int k = 0, r = 8; r <= 256; ++k, r *= 2) {
      const std::string b = "synthesis.b" + std::to_string(r) + ".";
      CHECK(state.at(b + "coords_fuser0.basis").shape() == Shape{rows[k], 2});
      CHECK(state.at(b + "conv0.weight").dim(1) == conv0_in[k]);
      CHECK(state.at(b + "conv0.noise_const").shape() == Shape{r, r});
    }
    CHECK(state.at("synthesis.b256.conv1.weight").shape() == Shape{64, 64, 3, 3});
    // The resample filter outer([1, 3, 3, 1]) / 64 and the b8 basis in units of pi (spec §1.5).
    const auto& f = state.at("synthesis.b4.resample_filter");
    CHECK(f.data()[0] == doctest::Approx(1.0 / 64));
    CHECK(f.data()[5] == doctest::Approx(9.0 / 64));
    const float b8[8][2] = {{0, 1}, {0, 2}, {1, 0}, {2, 0}, {-.5f, .5f}, {-1, 1}, {.5f, .5f}, {1, 1}};
    const auto& basis = state.at("synthesis.b8.coords_fuser0.basis");
    for (int i = 0; i < 8; ++i)
      for (int a = 0; a < 2; ++a)
        CHECK(basis.data()[2 * i + a] / std::numbers::pi_v<float> == doctest::Approx(b8[i][a]));
  }
  // The paper's ablations and the official config's alternatives (spec §7).
  CHECK(alis::NoCoords<256>().parameter_count() == 23191522);
  CHECK(alis::Generator<alis::Config{.coordinate_fusers = false}>().parameter_count() == 23489002);
  CHECK(alis::Generator<alis::Config{.remove_lowest_freq = false}>().parameter_count() == 24278770);
  CHECK(alis::Generator<alis::Config{.input_resolution = 16, .patches = 16}>().parameter_count() == 24240346);
}

TEST_CASE("coordinate channel counts follow the stored basis") {
  constexpr alis::Config small{.size = 16, .z_dim = 8, .w_dim = 8, .channel_base = 64, .channel_max = 8};
  constexpr alis::Config full_basis{
      .size = 16, .z_dim = 8, .w_dim = 8, .channel_base = 64, .channel_max = 8, .remove_lowest_freq = false};
  alis::Generator<full_basis> source(3);
  alis::Generator<small> g(4);
  REQUIRE(g.state_dict().at("synthesis.b8.conv0.weight").shape() == Shape{8, 8 + 16, 3, 3});
  g.load_state_dict(source.state_dict());
  CHECK(g.state_dict().at("synthesis.b8.conv0.weight").shape() == Shape{8, 8 + 24, 3, 3});
  CHECK(g.state_dict().at("synthesis.b16.coords_fuser0.basis").shape() == Shape{16, 2});
  CHECK(g.parameter_count() == source.parameter_count());
  const auto state = g.state_dict();
  for (const auto& [key, value] : source.state_dict()) CHECK(state.at(key).to_vector() == value.to_vector());
  // A misshaped basis is left to the key check, which names it.
  auto bad = source.state_dict();
  bad["synthesis.b8.coords_fuser0.basis"] = Tensor<float>::zeros({3, 3});
  CHECK_THROWS_WITH_AS(g.load_state_dict(bad), doctest::Contains("synthesis.b8.coords_fuser0.basis"), Error);
}

TEST_CASE("coordinate channels, interpolation weights and seeded noise equal an independent computation") {
  // In double from the strip column s = delta * size / g + j: x = 2 s / size - D, y = 1 - 2 (i + 1) / size,
  // t = ((s mod w) + 1/2) / w with w = D size / 2; the float channels to float rounding of |raw| <= ~10^2.
  for (const auto [size, patches, distance] : {std::array<int, 3>{32, 2, 4}, {16, 4, 6}}) {
    const std::vector<std::int64_t> delta = {0, 3, distance * patches - patches};
    const auto basis = alis::logarithmic_basis<float>(size, alis::Config::coordinate_dims(size), true);
    const auto coords = alis::coordinate_embedding(basis, delta, size, patches, distance);
    const auto weights = alis::anchor_weights<float>(delta, size, patches, distance);
    const alis::Frames<float> frames(delta, patches, distance, 1);
    const auto noise = frames.seeded_noise(7, 2, size);
    const std::int64_t m = basis.dim(0), width = size / patches, w_dist = distance * size / 2;
    REQUIRE(coords.shape() == Shape{3 * patches, 2 * m, size, width});
    double coord_err = 0, weight_err = 0;
    for (std::int64_t b = 0; b < 3; ++b)
      for (std::int64_t j = 0; j < size; ++j) {
        const std::int64_t s = delta[b] * width + j, n = b * patches + j / width, jj = j % width;
        const double x = 2.0 * s / size - distance, t = (s % w_dist + 0.5) / w_dist;
        const double want[3] = {s < w_dist ? 1 - t : 0, s < w_dist ? t : 1 - t, s < w_dist ? 0 : t};
        for (int a = 0; a < 3; ++a)
          weight_err = std::max(weight_err, std::abs(weights.data()[(b * size + j) * 3 + a] - want[a]));
        for (std::int64_t i = 0; i < size; ++i) {
          const double y = 1 - 2.0 * (i + 1) / size;
          // The noise number of the pixel: its column along strip 1 (D * size columns a strip) times size plus its row.
          const auto number = static_cast<std::uint64_t>((distance * size + s) * size + i);
          CHECK(noise.data()[(n * size + i) * width + jj] ==
                static_cast<float>(pixsyn::detail::philox_normal(7, (std::uint64_t(2) << 56) | (b << 40), number)));
          for (std::int64_t k = 0; k < m; ++k) {
            const double raw = double(basis.data()[2 * k]) * x + double(basis.data()[2 * k + 1]) * y;
            const float* at = coords.data() + ((n * 2 * m + k) * size + i) * width + jj;
            coord_err =
                std::max({coord_err, std::abs(at[0] - std::sin(raw)), std::abs(at[m * size * width] - std::cos(raw))});
          }
        }
      }
    CHECK(weight_err < 1e-7);
    CHECK(coord_err < 2e-5);
  }
  CHECK(contains(error_of([] { alis::anchor_weights<float>({7}, 32, 2, 4); }), "left border 7 lies outside the strip"));
}

TEST_CASE("seeded noise under nn::ShardedNoise is the whole batch's noise of those samples, different per rank") {
  // Data-parallel training: rank r of 2 renders samples r and r + 2 of a batch of 4 (train::Trainer's
  // strided shard); a shard of consecutive samples (first 2, stride 1) is the same function.
  const std::vector<std::int64_t> delta = {0, 5, 2, 3};
  const std::int64_t size = 16, patches = 2, plane = patches * size * (size / patches);
  const auto whole = alis::Frames<float>(delta, patches, 4, 1).seeded_noise(7, 2, size);
  const auto rows_of = [&](const Tensor<float>& noise, std::int64_t b) {
    return std::vector<float>(noise.data() + b * plane, noise.data() + (b + 1) * plane);
  };
  for (const auto& [first, stride] : {std::pair<int, int>{0, 2}, {1, 2}, {2, 1}}) {
    CAPTURE(first);
    CAPTURE(stride);
    const alis::Frames<float> local({delta[first], delta[first + stride]}, patches, 4, 1);
    const nn::ShardedNoise shard({static_cast<std::uint64_t>(first), static_cast<std::uint64_t>(stride)});
    const auto noise = local.seeded_noise(7, 2, size);
    REQUIRE(noise.shape() == Shape{2 * patches, 1, size, size / patches});
    CHECK(rows_of(noise, 0) == rows_of(whole, first));
    CHECK(rows_of(noise, 1) == rows_of(whole, first + stride));
  }
  // The same frames on two ranks: different noise (keyed by the local index, both would draw rank 0's).
  const alis::Frames<float> same({0, 0}, patches, 4, 1);
  const auto rank_noise = [&](std::uint64_t rank) {
    const nn::ShardedNoise shard({rank, 2});
    return same.seeded_noise(7, 2, size);
  };
  const auto unsharded = same.seeded_noise(7, 2, size);  // the guard is gone: samples 0 and 1 again
  CHECK(rows_of(rank_noise(0), 0) == rows_of(unsharded, 0));
  CHECK(rows_of(rank_noise(1), 0) == rows_of(unsharded, 1));
  const auto rank0 = rank_noise(0).to_vector(), rank1 = rank_noise(1).to_vector();
  int equal = 0;
  for (std::size_t i = 0; i < rank0.size(); ++i) equal += rank0[i] == rank1[i];
  CHECK(equal == 0);
  // A shard reaching past the noise's 2^16 samples is refused.
  const nn::ShardedNoise far({65535, 2});
  CHECK(contains(error_of([&] { same.seeded_noise(7, 2, size); }), "reaches past the 65536 samples"));
}

namespace {

// Channel c of images (B, 3, H, W) as (B, 1, H, W).
Tensor<float> channel(const Tensor<float>& images, std::int64_t c) { return slice(images, 1, c, c + 1).clone(); }

// Columns [first, last) of images (B, 3, H, W).
Tensor<float> columns(const Tensor<float>& images, std::int64_t first, std::int64_t last) {
  return slice(images, 3, first, last).clone();
}

std::vector<std::int64_t> deltas_of(const Tensor<float>& d) {
  std::vector<std::int64_t> out;
  for (std::int64_t i = 0; i < d.numel(); ++i) out.push_back(static_cast<std::int64_t>(d.data()[i]));
  return out;
}

template <alis::Config C>
void check_fixture(const std::string& name) {
  INFO(name);
  const auto [weights, fixture, metadata] = load_fixture("alis", name);
  alis::Generator<C> g;
  g.load_state_dict(weights);  // strict: every official key and shape must match
  CHECK(g.state_dict_keys() == metadata_list(metadata.at("keys")));
  const auto w = g.map(fixture.at("fixture.z"));
  CHECK(relative_error(w, fixture.at("fixture.w")) < 1e-5);
  const double psi = std::stod(metadata.at("truncation"));
  const Tensor<float> ws = fixture.count("fixture.ws")
                               ? fixture.at("fixture.ws")
                               : alis::truncate(w, reshape(g.w_avg(), Shape{1, 1, C.w_dim}), psi);
  alis::SynthesisOptions<float> options;
  const std::string noise = metadata.at("noise");
  if (noise == "const") options.noise = alis::NoiseMode::constant;
  if (noise == "given") {
    options.noise = alis::NoiseMode::given;
    for (int k = 0; fixture.count("fixture.noise." + std::to_string(k)); ++k)
      options.maps.push_back(fixture.at("fixture.noise." + std::to_string(k)));
  }
  const auto rgb = g.synthesize(ws, deltas_of(fixture.at("fixture.delta")), options);
  const auto& want = fixture.at("fixture.rgb");
  // Per channel: a clamped channel (official32's red, about 256) must not hide the others' errors.
  for (std::int64_t c = 0; c < 3; ++c) {
    const double err = relative_error(channel(rgb, c), channel(want, c));
    MESSAGE(name << " channel " << c << ": max error relative to the largest output " << err);
    CHECK(err < 1e-5);
  }
}

}  // namespace

TEST_CASE("parity with the PyTorch reference fixtures") {
  check_fixture<alis_official32>("official32");
  check_fixture<alis_patches4_input8>("patches4_input8");
  check_fixture<alis_constant16>("constant16");
}

TEST_CASE("adjacent frames tile bit for bit") {
  // A frame at delta + 1 begins with the patch that ended the frame at delta (g = 2), and the frames
  // at delta and delta + g share nothing: with seeded noise too, which follows the strip.
  constexpr alis::Config c{.size = 32, .z_dim = 16, .w_dim = 16, .channel_base = 256, .channel_max = 16};
  alis::Generator<c> g(11);
  const auto w = g.map(Tensor<float>::randn({1, 3, 16}, Philox{12}));
  for (const auto noise : {alis::NoiseMode::off, alis::NoiseMode::seeded}) {
    const alis::SynthesisOptions<float> options{.noise = noise, .seed = 3};
    std::vector<Tensor<float>> frames;
    for (std::int64_t d = 0; d <= c.max_delta(); ++d) frames.push_back(g.synthesize(w, {d}, options));
    for (std::int64_t d = 0; d < c.max_delta(); ++d) {
      CHECK(columns(frames[d], 16, 32).to_vector() == columns(frames[d + 1], 0, 16).to_vector());
      CHECK(columns(frames[d], 0, 16).to_vector() != columns(frames[d + 1], 0, 16).to_vector());
    }
    // A batch renders each sample as it renders alone.
    const auto batch = g.synthesize(concat(std::vector<Tensor<float>>{w, w}, 0), {1, 4}, options);
    CHECK(slice(batch, 0, 1, 2).clone().to_vector() == frames[4].to_vector());
    if (noise == alis::NoiseMode::off) CHECK(slice(batch, 0, 0, 1).clone().to_vector() == frames[1].to_vector());
  }
}

TEST_CASE("one w per anchor equals it broadcast to every layer; generate = map, truncate, synthesize") {
  alis::Generator<alis_official32> g(2);
  const auto z = Tensor<float>::randn({2, 3, 16}, Philox{3});
  const auto w = g.map(z);
  auto ws = Tensor<float>::empty({2, 3, g.num_ws, 16});
  for (std::int64_t i = 0; i < 6; ++i)
    for (int l = 0; l < g.num_ws; ++l)
      std::copy(w.data() + i * 16, w.data() + (i + 1) * 16, ws.data() + (i * g.num_ws + l) * 16);
  CHECK(g.synthesize(ws, {2}).to_vector() == g.synthesize(w, {2}).to_vector());
  const auto truncated = alis::truncate(w, reshape(g.w_avg(), Shape{1, 1, 16}), 0.5);
  CHECK(g.generate(z, {1, 3}, 0.5).to_vector() == g.synthesize(truncated, {1, 3}).to_vector());
}

TEST_CASE("the Var forward equals the Tensor forward, and its gradient checks in double") {
  constexpr alis::Config c{
      .size = 8, .z_dim = 4, .w_dim = 4, .channel_base = 24, .channel_max = 3, .fp16_resolutions = 1};
  alis::Generator<c, double> g(5);
  const auto w = g.map(Tensor<double>::randn({1, 3, 4}, Philox{6}));
  const alis::SynthesisOptions<double> options{.noise = alis::NoiseMode::seeded, .seed = 1};
  const auto tensor = g.synthesize(w, {3}, options);
  const auto var = g.synthesize(Var<double>(w), {3}, options);
  CHECK(var.value().to_vector() == tensor.to_vector());
  const auto r =
      autograd::gradcheck([&](const std::vector<Var<double>>& v) { return g.synthesize(v[0], {3}, options); }, {w},
                          {.second_order = false, .max_elements = 12});
  INFO(r.message);
  CHECK(r.ok);
  // And through the parameters: the clamp, the style normalisation and the upsampling conv.
  autograd::backward(sum(var));
  CHECK(g.synthesis.blocks[1]->conv0->weight.grad().defined());
}

TEST_CASE("bad anchors, left borders and noise maps are refused with the reason") {
  alis::Generator<alis_official32> g(1);
  const auto w = g.map(Tensor<float>::randn({2, 3, 16}, Philox{2}));
  CHECK(contains(error_of([&] { g.synthesize(w, {7}); }), "delta = 7 is outside 0 .. 6"));
  CHECK(contains(error_of([&] { g.synthesize(w, {-1}); }), "delta = -1"));
  CHECK(contains(error_of([&] { g.synthesize(w, {1, 2, 3}); }), "3 left borders given for a batch of 2"));
  CHECK(contains(error_of([&] { g.synthesize(Tensor<float>::zeros({2, 2, 16}), {0}); }), "(batch, 3, 16)"));
  CHECK(contains(error_of([&] { g.synthesize(Tensor<float>::zeros({2, 3, 5, 16}), {0}); }), "(batch, 3, 9, 16)"));
  CHECK(contains(error_of([&] { g.map(Tensor<float>::zeros({2, 3, 15})); }), "(batch, 3, 16)"));
  CHECK(contains(error_of([&] { g.generate(Tensor<float>::zeros({2, 16}), {0}); }), "left, centre and right"));
  alis::SynthesisOptions<float> given{.noise = alis::NoiseMode::given};
  CHECK(contains(error_of([&] { g.synthesize(w, {0}, given); }), "0 noise maps given for 7 convolutions"));
  CHECK(contains(error_of([&] { g.synthesize(w, {0}, {.strip = -2}); }), "the strip index -2 is negative"));
  // Frames made by the caller must be the call's.
  const alis::Frames<float> frames({0, 2}, alis_official32.patches, alis_official32.anchor_distance, 3);
  CHECK(g.synthesize(w, frames, {.strip = 3}).to_vector() == g.synthesize(w, {0, 2}, {.strip = 3}).to_vector());
  CHECK(contains(error_of([&] { g.synthesize(w, frames, {.strip = 1}); }), "on strip 3 for w of shape"));
  CHECK(contains(error_of([&] { g.synthesize(slice(w, 0, 0, 1).clone(), frames, {.strip = 3}); }),
                 "frames of 2 samples"));
  // The official forward scales delta by max_shift_strength and truncates it.
  g.synthesis.max_shift_strength.data()[0] = 0.5f;
  const auto half = g.synthesize(w, {5});
  g.synthesis.max_shift_strength.data()[0] = 1;
  CHECK(half.to_vector() == g.synthesize(w, {2}).to_vector());
}
