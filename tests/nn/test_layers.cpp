#include <doctest/doctest.h>

#include <pixsyn/autograd/gradcheck.hpp>
#include <pixsyn/nn/mapping.hpp>
#include <pixsyn/nn/modulated_fc.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

using namespace pixsyn;

namespace {

// y[b, p, o] by the definition, in double: styles s = affine(w) (times the style gain), weight W (times
// the weight gain), optional demodulation, then the epilogue clamp(lrelu(y + bias) * gain).
std::vector<double> naive_modulated_fc(const nn::ModulatedFc<double>& fc, const Tensor<double>& x,
                                       const Tensor<double>& w) {
  const auto& spec = fc.spec();
  const std::int64_t batch = x.dim(0), points = x.dim(1), in = fc.in_channels(), out = fc.out_channels();
  const std::int64_t style_dim = w.dim(1);
  const double gain = 1 / std::sqrt(double(in));
  const auto aw = fc.affine.weight.value(), ab = fc.affine.bias.value();
  const double* weight = fc.weight.value().data();
  std::vector<double> y(batch * points * out);
  for (std::int64_t b = 0; b < batch; ++b) {
    std::vector<double> s(in);
    for (std::int64_t i = 0; i < in; ++i) {
      double acc = ab.data()[i];
      for (std::int64_t k = 0; k < style_dim; ++k)
        acc += aw.data()[i * style_dim + k] / std::sqrt(double(style_dim)) * w.data()[b * style_dim + k];
      s[i] = spec.gain == nn::ModulatedGain::styles ? acc * gain : acc;
    }
    for (std::int64_t o = 0; o < out; ++o) {
      std::vector<double> row(in);
      double norm = 0;
      for (std::int64_t i = 0; i < in; ++i) {
        row[i] = weight[o * in + i] * (spec.gain == nn::ModulatedGain::weight ? gain : 1) * s[i];
        norm += row[i] * row[i];
      }
      const double d = spec.demodulate ? 1 / std::sqrt(norm + 1e-8) : 1;
      for (std::int64_t p = 0; p < points; ++p) {
        double acc = 0;
        for (std::int64_t i = 0; i < in; ++i) acc += row[i] * d * x.data()[(b * points + p) * in + i];
        if (spec.bias) {
          const auto& e = spec.epilogue;
          acc += fc.bias.value().data()[o];
          acc *= acc > 0 ? e.gain : e.slope * e.gain;
          if (e.clamp >= 0) acc = std::clamp(acc, -e.clamp, e.clamp);
        }
        y[(b * points + p) * out + o] = acc;
      }
    }
  }
  return y;
}

std::vector<std::string> keys_of(const nn::Module<double>& m) { return m.state_dict_keys(); }

// The StyleGAN3 (CREPS) layer specs, as models/creps uses them.
nn::ModulatedFcSpec synthesis_layer() {
  return {.conv_weight = false,
          .gain = nn::ModulatedGain::none,
          .demodulate = true,
          .affine_name = "affine",
          .bias = true,
          .epilogue = {.slope = 0.2, .gain = std::sqrt(2.0), .clamp = 3}};
}
nn::ModulatedFcSpec tores_layer() {
  return {.conv_weight = false,
          .gain = nn::ModulatedGain::styles,
          .demodulate = false,
          .affine_name = "affine",
          .bias = true,
          .epilogue = {.slope = 1, .gain = 1, .clamp = 2}};
}

void check_layer(const nn::ModulatedFcSpec& spec) {
  Philox gen{31};
  nn::ModulatedFc<double> fc(6, 5, 4, spec, gen);
  if (spec.bias) fc.bias.set_value(Tensor<double>::randn({5}, gen));
  const auto x = Tensor<double>::randn({2, 7, 6}, gen);
  const auto w = Tensor<double>::randn({2, 4}, gen);
  const auto want = naive_modulated_fc(fc, x, w);
  const auto got = fc(x, w).to_vector();
  const auto var = fc(Var<double>(x), Var<double>(w)).value().to_vector();
  REQUIRE(got.size() == want.size());
  int clamped = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-12));
    CHECK(var[i] == doctest::Approx(want[i]).epsilon(1e-12));
    clamped += spec.bias && std::abs(want[i]) == spec.epilogue.clamp;
  }
  if (spec.bias) CHECK(clamped > 0);  // the clamp is exercised
}

}  // namespace

TEST_CASE("mapping: rosinality and StyleGAN3 names, one computation") {
  Philox a{5}, b{5};
  nn::Mapping<double> cips(8, 3, 0.01, a);
  nn::Mapping<double> sg3(8, 3, 0.01, b, nn::MappingNames::stylegan3());
  CHECK(keys_of(cips) == std::vector<std::string>{"1.weight", "1.bias", "2.weight", "2.bias", "3.weight", "3.bias"});
  CHECK(keys_of(sg3) == std::vector<std::string>{"w_avg", "fc0.weight", "fc0.bias", "fc1.weight", "fc1.bias",
                                                 "fc2.weight", "fc2.bias"});
  CHECK(!cips.w_avg.defined());
  CHECK(sg3.w_avg.to_vector() == std::vector<double>(8, 0.0));
  CHECK(sg3.size() == 3);
  const auto z = Tensor<double>::randn({3, 8}, Philox{6});
  CHECK(cips(z).to_vector() == sg3(z).to_vector());
}

TEST_CASE("modulated FC: every spec matches its definition, on Tensor and on Var") {
  check_layer(nn::ModulatedFcSpec{});  // rosinality, demodulated
  check_layer(nn::ModulatedFcSpec{.demodulate = false});
  check_layer(synthesis_layer());
  check_layer(tores_layer());
}

TEST_CASE("modulated FC: names and shapes follow the spec") {
  Philox gen{1};
  nn::ModulatedFc<double> cips(6, 5, 4, nn::ModulatedFcSpec{}, gen);
  CHECK(keys_of(cips) == std::vector<std::string>{"weight", "modulation.weight", "modulation.bias"});
  CHECK(cips.weight.shape() == Shape{1, 5, 6, 1, 1});
  CHECK(!cips.bias.defined());
  nn::ModulatedFc<double> creps(6, 5, 4, synthesis_layer(), gen);
  CHECK(keys_of(creps) == std::vector<std::string>{"weight", "bias", "affine.weight", "affine.bias"});
  CHECK(creps.weight.shape() == Shape{5, 6});
  CHECK(creps.affine.weight.shape() == Shape{6, 4});
  CHECK(creps.affine.bias.value().to_vector() == std::vector<double>(6, 1.0));  // styles start near 1
  CHECK(creps.in_channels() == 6);
  CHECK(creps.out_channels() == 5);
}

TEST_CASE("modulated FC: StyleGAN3 layers' input and style gradients match finite differences to second order") {
  for (const auto& spec : {synthesis_layer(), tores_layer()}) {
    Philox gen{8};
    auto s = spec;
    s.epilogue.clamp = -1;  // keep away from the clamp's kinks for finite differences
    nn::ModulatedFc<double> fc(3, 2, 2, s, gen);
    const auto x = Tensor<double>::randn({2, 3, 3}, gen);
    const auto w = Tensor<double>::randn({2, 2}, gen);
    const auto r = autograd::gradcheck([&](const std::vector<Var<double>>& v) { return fc(v[0], v[1]); }, {x, w});
    CHECK_MESSAGE(r.ok, r.message);
  }
}
