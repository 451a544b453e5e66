// ALIS on the GPU: alis::Generator<C, float, Cuda> (the same layers on the CUDA ops) against the PyTorch
// fixtures and the CPU generator (fp32, ≤ 1e-5 of the largest output; inference runs the fused ops), adjacent
// frames tiling bit for bit, and panoramas whose resampled anchor leaves every other frame bit-identical.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "pixsyn/models/alis.hpp"
#include "pixsyn/render/alis_panorama.hpp"
#include "support/alis_fixtures.hpp"
#include "support/cips_fixtures.hpp"
#include "support/cuda.hpp"

namespace {

using namespace pixsyn;
using namespace pixsyn::test;

std::vector<std::int64_t> deltas_of(const Tensor<float>& d) {
  std::vector<std::int64_t> out;
  for (std::int64_t i = 0; i < d.numel(); ++i) out.push_back(static_cast<std::int64_t>(d.data()[i]));
  return out;
}

Tensor<float> channel(const Tensor<float>& images, std::int64_t c) { return slice(images, 1, c, c + 1).clone(); }

template <alis::Config C>
void check_fixture(const std::string& name) {
  INFO(name);
  const auto [weights, fixture, metadata] = load_fixture("alis", name);
  alis::Generator<C> cpu;
  cpu.load_state_dict(weights);
  alis::Generator<C, float, Cuda> gpu;
  gpu.load_state_dict(alis::weights_on<Cuda>(cpu));
  const auto z = fixture.at("fixture.z");
  CHECK(relative_error(to_host(gpu.map(to_device(z))), fixture.at("fixture.w")) < 1e-5);
  const double psi = std::stod(metadata.at("truncation"));
  const Tensor<float> ws = fixture.count("fixture.ws")
                               ? fixture.at("fixture.ws")
                               : alis::truncate(cpu.map(z), reshape(cpu.w_avg(), Shape{1, 1, C.w_dim}), psi);
  alis::SynthesisOptions<float> options;
  const std::string noise = metadata.at("noise");
  if (noise == "const") options.noise = alis::NoiseMode::constant;
  if (noise == "given") {
    options.noise = alis::NoiseMode::given;
    for (int k = 0; fixture.count("fixture.noise." + std::to_string(k)); ++k)
      options.maps.push_back(fixture.at("fixture.noise." + std::to_string(k)));
  }
  const auto delta = deltas_of(fixture.at("fixture.delta"));
  Poisoned poisoned;
  const auto rgb = to_host(gpu.synthesize(to_device(ws), delta, options));
  const auto on_cpu = cpu.synthesize(ws, delta, options);
  for (std::int64_t c = 0; c < 3; ++c) {
    const double err = relative_error(channel(rgb, c), channel(fixture.at("fixture.rgb"), c));
    const double vs_cpu = relative_error(channel(rgb, c), channel(on_cpu, c));
    MESSAGE(name << " channel " << c << ": GPU vs reference " << err << ", vs CPU " << vs_cpu);
    CHECK(err < 1e-5);
    CHECK(vs_cpu < 1e-5);
  }
}

constexpr alis::Config small{.size = 32, .z_dim = 16, .w_dim = 16, .channel_base = 256, .channel_max = 16};

}  // namespace

// The largest |a - b| of two tensors of equal shape.
template <class T>
double largest_difference(const Tensor<T>& a, const Tensor<T>& b) {
  REQUIRE(a.shape() == b.shape());
  double err = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i)
    err = std::max(err, static_cast<double>(std::abs(a.data()[i] - b.data()[i])));
  return err;
}

TEST_CASE(
    "ALIS's per-call inputs on the GPU: weights (and float noise) equal the CPU's bit for bit, the rest to rounding") {
  // Philox normals are computed in double with libm's log/sin/cos, which the GPU's and glibc's round alike to
  // within an ulp or two: in float both round to the same value (so far as the tests see), in double not always.
  // The coordinates: sinf/cosf on the GPU are within 2 ulp, glibc's within 1.
  const auto check = [](auto zero, std::int64_t size, int patches, int distance) {
    using T = decltype(zero);
    INFO("size " << size << ", g = " << patches << ", D = " << distance << ", " << sizeof(T) * 8 << "-bit");
    const std::vector<std::int64_t> delta = {0, 3, 1, distance * patches - patches};
    const alis::Frames<T> cpu(delta, patches, distance, 2);
    const alis::Frames<T, Cuda> gpu(delta, patches, distance, 2);
    const auto basis = alis::logarithmic_basis<T>(static_cast<int>(size), alis::Config::coordinate_dims(size), true);
    Poisoned poisoned;
    CHECK(to_host(gpu.weights(size)).to_vector() == cpu.weights(size).to_vector());
    for (const nn::SampleShard shard : {nn::SampleShard{}, {1, 3}}) {  // one process; rank 1 of 3 (training)
      const nn::ShardedNoise sharded(shard);
      const auto noise = to_host(gpu.seeded_noise(7, 3, size)), want_noise = cpu.seeded_noise(7, 3, size);
      if constexpr (sizeof(T) == 4)
        CHECK(noise.to_vector() == want_noise.to_vector());
      else
        CHECK(largest_difference(noise, want_noise) < 1e-14);  // |z| < 7: a few ulp
    }
    const double err =
        largest_difference(to_host(gpu.coordinates(to_device(basis), size)), cpu.coordinates(basis, size));
    MESSAGE("coordinates: largest |GPU - CPU| " << err);
    CHECK(err < (sizeof(T) == 4 ? 1e-6 : 1e-14));
    // The fuser's channels modulated in one pass equal the concatenation times the styles.
    const alis::CoordFuser<T, Cuda> fuser(to_device(basis));
    const auto x = to_device(randn<T>({4 * patches, 3, size, size / patches}, 5));
    const auto gamma = to_device(randn<T>({4 * patches, 3 + fuser.channels(), 1, size / patches}, 6));
    CHECK(to_host(fuser.modulated(x, gamma, gpu)).to_vector() == to_host(mul(fuser(x, gpu), gamma)).to_vector());
    // The features read through the previous layer's pending bias + leaky ReLU + clamp.
    const PendingBiasLeakyRelu<T, Cuda> pending{to_device(randn<T>({3}, 7)), {.slope = 0.2, .gain = 1.4, .clamp = 1}};
    CHECK(to_host(fuser.modulated(x, gamma, gpu, &pending)).to_vector() ==
          to_host(mul(fuser(bias_leaky_relu(x, pending.bias, 1, pending.options), gpu), gamma)).to_vector());
  };
  check(0.0f, 256, 2, 4);
  check(0.0f, 16, 4, 6);
  check(0.0f, 8, 4, 6);  // patches 2 columns wide: the fuser's kernel without 16-byte packs
  check(0.0, 32, 2, 4);
  using GpuFrames = alis::Frames<float, Cuda>;
  CHECK_THROWS_WITH_AS(GpuFrames({7}, 2, 4), doctest::Contains("left border 7 lies outside"), Error);
}

TEST_CASE("ALIS's interpolated styles in one launch on the GPU equal the CPU's ops") {
  for (const int patches : {1, 2, 4}) {
    CAPTURE(patches);
    const std::vector<std::int64_t> delta = {0, 3 * patches, patches};
    const alis::Frames<float> frames(delta, patches, 4);
    const auto styles = randn<float>({3, 3, 37}, 31);
    const auto want = alis::interpolate_styles(styles, frames.weights(32), patches);
    Poisoned poisoned;
    const auto got = to_host(alis::interpolate_styles(to_device(styles), to_device(frames.weights(32)), patches));
    CHECK(got.shape() == want.shape());
    CHECK(max_relative_error(got, want) < 1e-6);
  }
}

TEST_CASE("ALIS's demodulated weights on the GPU equal the CPU's ops, in both layouts") {
  const auto check = [](auto zero, const Shape& shape) {
    using T = decltype(zero);
    INFO(shape << ", " << sizeof(T) * 8 << "-bit");
    const auto w = randn<T>(shape, 21);
    const T eps = static_cast<T>(1e-8);
    const auto want = mul(w, rsqrt(add(sum(square(w), {1, 2, 3}, true), eps)));
    const auto wd = to_device(w);
    Poisoned poisoned;
    for (const bool transposed : {false, true}) {
      auto out = Tensor<T, Cuda>::empty(transposed ? Shape{shape[1], shape[0], shape[2], shape[3]} : shape);
      backend::cuda::alis_demodulated_weight(wd.data(), shape[0], shape[1], shape[2] * shape[3], eps, transposed,
                                             out.data());
      CHECK(max_relative_error(to_host(out), transposed ? permute(want, {1, 0, 2, 3}) : want) <
            (sizeof(T) == 4 ? 1e-6 : 1e-14));
    }
  };
  check(0.0f, Shape{40, 300, 3, 3});
  check(0.0f, Shape{3, 5, 1, 1});
  check(0.0, Shape{7, 70, 3, 3});
}

TEST_CASE("the style normalisation (and its mask) on the GPU equals the CPU's: first largest magnitude, ties, NaN") {
  auto x = randn<float>({50, 520}, 3);
  float* p = x.data();
  p[1 * 520 + 7] = 9, p[1 * 520 + 300] = -9;              // a tie of magnitudes: the first wins
  p[2 * 520 + 519] = 20;                                  // the last channel
  p[3 * 520] = std::nanf("");                             // a NaN first entry stays chosen
  p[4 * 520 + 5] = std::nanf(""), p[4 * 520 + 6] = 30;    // a NaN elsewhere never wins
  std::fill(p + 5 * 520, p + 6 * 520, 0.0f);              // all equal: the first
  p[6 * 520 + 2] = INFINITY, p[6 * 520 + 4] = -INFINITY;  // infinite magnitudes tie: the first
  for (const std::int64_t channels : {520, 8}) {
    INFO(channels << " channels");
    const auto rows = slice(x, 1, 0, channels).clone();
    Poisoned poisoned;
    CHECK(to_host(alis::largest_magnitude_mask(to_device(rows))).to_vector() ==
          alis::largest_magnitude_mask(rows).to_vector());
    // The normalisation in one launch (inference) equals the CPU's ops: the same values and signs (an all-zero
    // row divides by +0), NaN where they have NaN (the second infinity's |inf| · 0).
    const auto styles = reshape(slice(rows, 0, 0, 48).clone(), Shape{16, 3, channels});
    const auto fused = to_host(alis::normalize_styles(to_device(styles))), want = alis::normalize_styles(styles);
    std::int64_t differ = 0;
    for (std::int64_t i = 0; i < want.numel(); ++i) {
      const float a = fused.data()[i], b = want.data()[i];
      differ += (std::isnan(a) && std::isnan(b)) || (a == b && std::signbit(a) == std::signbit(b)) ? 0 : 1;
    }
    CHECK(differ == 0);
  }
}

TEST_CASE("ALIS on the GPU equals the PyTorch reference fixtures and the CPU") {
  check_fixture<alis_official32>("official32");
  check_fixture<alis_patches4_input8>("patches4_input8");
  check_fixture<alis_constant16>("constant16");
}

TEST_CASE("ALIS on the GPU: adjacent frames tile bit for bit, with seeded noise as on the CPU") {
  alis::Generator<small> cpu(11);
  alis::Generator<small, float, Cuda> gpu;
  gpu.load_state_dict(alis::weights_on<Cuda>(cpu));
  const auto w = cpu.map(Tensor<float>::randn({1, 3, 16}, Philox{12}));
  const alis::SynthesisOptions<float> options{.noise = alis::NoiseMode::seeded, .seed = 3};
  std::vector<Tensor<float>> frames;
  for (std::int64_t d = 0; d <= small.max_delta(); ++d)
    frames.push_back(to_host(gpu.synthesize(to_device(w), {d}, options)));
  for (std::int64_t d = 0; d < small.max_delta(); ++d) {
    CHECK(slice(frames[d], 3, 16, 32).clone().to_vector() == slice(frames[d + 1], 3, 0, 16).clone().to_vector());
    CHECK(relative_error(frames[d], cpu.synthesize(w, {d}, options)) < 1e-5);
  }
}

TEST_CASE("an ALIS panorama on the GPU: a resampled anchor changes its two intervals only") {
  constexpr alis::Config tiny{.size = 16, .z_dim = 8, .w_dim = 8, .channel_base = 64, .channel_max = 8};
  alis::Generator<tiny> cpu(2);
  alis::Generator<tiny, float, Cuda> gpu;
  gpu.load_state_dict(alis::weights_on<Cuda>(cpu));
  const render::AlisPanorama<alis::Generator<tiny, float, Cuda>> pano(gpu, 10, {.seed = 5});
  auto changed = render::AlisPanorama<alis::Generator<tiny, float, Cuda>>(gpu, 10, {.seed = 5});
  const auto [first, last] = changed.resample(3, 77);
  const render::AlisPanorama<alis::Generator<tiny>> reference(cpu, 10, {.seed = 5});
  for (std::int64_t f = 0; f < 10; ++f) {
    INFO("frame " << f);
    const auto before = pano.frame(f), after = changed.frame(f);
    CHECK(relative_error(before, reference.frame(f)) < 1e-5);
    if (f >= first && f < last)
      CHECK(after.to_vector() != before.to_vector());
    else
      CHECK(after.to_vector() == before.to_vector());
  }
}
