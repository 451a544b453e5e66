#include <doctest/doctest.h>

#include <pixsyn/autograd/gradcheck.hpp>
#include <pixsyn/io/safetensors.hpp>
#include <pixsyn/nn/rosinality_discriminator.hpp>
#include <pixsyn/nn/stylegan2_discriminator.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "support/errors.hpp"

using namespace pixsyn;

namespace {

// The configurations of tools/reference/make_discriminator_fixtures.py.
const std::map<std::string, nn::RosinalityDiscriminatorConfig> rosinality_cases{
    {"rosinality16", {.size = 16, .input_channels = 5, .max_channels = 8}},
    {"rosinality32", {.size = 32, .input_channels = 3, .max_channels = 8}},
};
const std::map<std::string, nn::StyleGan2DiscriminatorConfig> stylegan2_cases{
    {"stylegan2_16",
     {.size = 16, .channel_base = 96, .channel_max = 12, .conv_clamp = 0.5, .mbstd_group = 2, .mbstd_channels = 2}},
    {"stylegan2_32", {.size = 32, .channel_base = 128, .channel_max = 8}},
};

struct Fixture {
  nn::StateDict<double> weights;
  Tensor<double> images, logits;
};

Fixture load(const std::string& name) {
  Fixture f;
  const auto file =
      io::read_safetensors(PIXSYN_SOURCE_DIR "/tests/fixtures/train/discriminator_" + name + ".safetensors");
  for (const auto& [key, raw] : file.tensors) {
    if (key == "fixture.images")
      f.images = raw.to<double>();
    else if (key == "fixture.logits")
      f.logits = raw.to<double>();
    else
      f.weights.emplace(key, raw.to<double>());
  }
  return f;
}

double max_abs_difference(const Tensor<double>& a, const Tensor<double>& b) {
  REQUIRE(a.shape() == b.shape());
  double m = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a.data()[i] - b.data()[i]));
  return m;
}

// The forward on Tensor and on Var equals the PyTorch reference's logits.
template <class Discriminator>
void check_against_fixture(const Discriminator& d, const Fixture& f) {
  const double on_tensor = max_abs_difference(d(f.images), f.logits);
  const double on_var = max_abs_difference(d(Var<double>::parameter(f.images)).value(), f.logits);
  CAPTURE(on_tensor);
  CAPTURE(on_var);
  CHECK(on_tensor < 1e-12);
  CHECK(on_var < 1e-12);
}

// Every case (fixture name -> configuration): the discriminator built from it, with the fixture's weights.
template <class Discriminator, class Config>
void check_cases(const std::map<std::string, Config>& cases) {
  for (const auto& entry : cases) {
    const std::string& name = entry.first;  // a structured binding cannot be captured (clang 14)
    CAPTURE(name);
    const auto f = load(name);
    Discriminator d(entry.second);
    d.load_state_dict(f.weights);
    check_against_fixture(d, f);
  }
}

}  // namespace

TEST_CASE("discriminators have the official parameter counts") {
  // cips.md §7 and alis.md §4. Built in float: the counts need no double.
  CHECK(nn::RosinalityDiscriminator<float>({.size = 256}).parameter_count() == 28'864'129);
  CHECK(nn::RosinalityDiscriminator<float>({.size = 64}).parameter_count() == 26'488'833);
  CHECK(nn::StyleGan2Discriminator<float>(nn::StyleGan2DiscriminatorConfig::alis(256)).parameter_count() == 24'001'089);
  // CREPS's D has the CIPS D's widths at 256 (128, 256, then 512), and so its count.
  CHECK(nn::StyleGan2Discriminator<float>(nn::StyleGan2DiscriminatorConfig::creps(256)).parameter_count() ==
        28'864'129);
}

TEST_CASE("discriminator state-dict keys follow the official modules") {
  const auto keys = nn::RosinalityDiscriminator<float>({.size = 8, .max_channels = 4}).state_dict_keys();
  const std::vector<std::string> rosinality{"convs.0.0.weight",     "convs.0.1.bias",         "convs.1.conv1.0.weight",
                                            "convs.1.conv1.1.bias", "convs.1.conv2.0.kernel", "convs.1.conv2.1.weight",
                                            "convs.1.conv2.2.bias", "convs.1.skip.0.kernel",  "convs.1.skip.1.weight",
                                            "final_conv.0.weight",  "final_conv.1.bias",      "final_linear.0.weight",
                                            "final_linear.0.bias",  "final_linear.1.weight",  "final_linear.1.bias"};
  CHECK(keys == rosinality);
  const auto sg2 = nn::StyleGan2Discriminator<float>({.size = 8, .channel_max = 4}).state_dict_keys();
  const std::vector<std::string> stylegan2{"b8.resample_filter",
                                           "b8.fromrgb.weight",
                                           "b8.fromrgb.bias",
                                           "b8.fromrgb.resample_filter",
                                           "b8.conv0.weight",
                                           "b8.conv0.bias",
                                           "b8.conv0.resample_filter",
                                           "b8.conv1.weight",
                                           "b8.conv1.bias",
                                           "b8.conv1.resample_filter",
                                           "b8.skip.weight",
                                           "b8.skip.resample_filter",
                                           "b4.conv.weight",
                                           "b4.conv.bias",
                                           "b4.conv.resample_filter",
                                           "b4.fc.weight",
                                           "b4.fc.bias",
                                           "b4.out.weight",
                                           "b4.out.bias"};
  CHECK(sg2 == stylegan2);
}

TEST_CASE("the rosinality discriminator matches the PyTorch reference") {
  check_cases<nn::RosinalityDiscriminator<double>>(rosinality_cases);
}

TEST_CASE("the StyleGAN2-ADA discriminator matches the PyTorch reference (clamped and not)") {
  check_cases<nn::StyleGan2Discriminator<double>>(stylegan2_cases);
}

TEST_CASE("discriminators differentiate twice with respect to the images (the R1 path)") {
  const nn::RosinalityDiscriminator<double> rosinality({.size = 8, .input_channels = 2, .max_channels = 3}, 5);
  const nn::StyleGan2Discriminator<double> stylegan2({.size = 8, .img_channels = 2, .channel_max = 3}, 6);
  const auto images = Tensor<double>::randn({2, 2, 8, 8}, Philox{7});
  for (int which = 0; which < 2; ++which) {
    CAPTURE(which);
    const auto result = autograd::gradcheck(
        [&](const std::vector<Var<double>>& v) { return which == 0 ? rosinality(v[0]) : stylegan2(v[0]); }, {images},
        {.max_elements = 24});
    INFO(result.message);
    CHECK(result.ok);
  }
}

TEST_CASE("discriminators refuse images of the wrong shape and batches the stddev groups cannot split") {
  const nn::RosinalityDiscriminator<float> rosinality({.size = 8, .max_channels = 4});
  const nn::StyleGan2Discriminator<float> stylegan2({.size = 8, .channel_max = 4});
  const auto wrong = Tensor<float>::zeros({4, 3, 16, 16});
  CHECK(test::contains(test::error_of([&] { rosinality(wrong); }), "expected (batch, 3, 8, 8)"));
  CHECK(test::contains(test::error_of([&] { stylegan2(wrong); }), "expected (batch, 3, 8, 8)"));
  const auto six = Tensor<float>::zeros({6, 3, 8, 8});
  CHECK(test::contains(test::error_of([&] { rosinality(six); }), "does not split into groups of 4"));
  CHECK(test::contains(test::error_of([&] { stylegan2(six); }), "does not split into groups of 4"));
  CHECK(test::contains(test::error_of([] { nn::RosinalityDiscriminator<float>({.size = 48}); }),
                       "size 48 is not a power of two"));
  CHECK(test::contains(test::error_of([] { nn::StyleGan2Discriminator<float>({.size = 2048}); }),
                       "size 2048 is not a power of two in [8, 1024]"));
}
