#include <doctest/doctest.h>

#include <pixsyn/models/cips.hpp>
#include <pixsyn/nn/rosinality_discriminator.hpp>
#include <pixsyn/train/ema.hpp>
#include <pixsyn/train/gan_step.hpp>

#include "step_fixture.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

using namespace pixsyn;

namespace {

// The configuration of tools/reference/make_train_fixtures.py.
constexpr cips::Config tiny_cips{.size = 8, .hidden = 8, .style_dim = 8, .mapping_layers = 2, .channels = {8, 8}};
const nn::RosinalityDiscriminatorConfig tiny_d{.size = 8, .input_channels = 3, .max_channels = 8};
using TinyGenerator = cips::Generator<tiny_cips, double>;

// Given noise maps (B, 1, S, S) -> the NoiseSource's (B, S·S) maps.
nn::NoiseSource<double> given_noise(const test::StepFixture& f, const std::string& prefix, int layers) {
  nn::NoiseSource<double> noise{.mode = nn::NoiseMode::given};
  for (int k = 0; k < layers; ++k) {
    const auto& map = f.at(prefix + std::to_string(k));
    noise.maps.push_back(map.reshape({map.dim(0), map.numel() / map.dim(0)}));
  }
  return noise;
}

}  // namespace

TEST_CASE("two CIPS training iterations (D, lazy R1, G, EMA) equal the PyTorch reference") {
  const auto f = test::StepFixture::load("cips_step");
  TinyGenerator g, g_ema;
  g.load_state_dict(f.with_prefix("g."));
  g_ema.load_state_dict(f.with_prefix("g."));
  nn::RosinalityDiscriminator<double> d(tiny_d);
  d.load_state_dict(f.with_prefix("d."));

  // The official loop ran on torch 1.x, whose zero_grad() left zero gradients that Adam stepped.
  const train::AdamOptions base{.lr = 0.002, .beta1 = 0, .beta2 = 0.99, .zero_missing_gradients = true};
  train::Adam<double> g_optimizer(g.named_parameters(), train::lazy_regularized(base, 4));
  train::Adam<double> d_optimizer(d.named_parameters(), train::lazy_regularized(base, 16));
  const double decay = train::ema_beta(32, 0, {.half_life_images = 10'000});
  const int layers = tiny_cips.styled_convs();

  for (int i = 0; i < 2; ++i) {
    CAPTURE(i);
    const std::string p = "fixture." + std::to_string(i) + ".";
    const auto generate = [&](train::GanPhase phase) {
      const bool d_phase = phase == train::GanPhase::discriminator;
      const Var<double> z(f.at(p + (d_phase ? "z_d" : "z_g")));
      return g.synthesize_training(g.map(z), given_noise(f, p + (d_phase ? "noise_d." : "noise_g."), layers));
    };
    const auto losses = train::gan_step(d, g_optimizer, d_optimizer, f.at(p + "reals"), generate, i % 16 == 0);
    train::update_ema(g_ema, g, decay);
    CHECK(losses.loss_d == doctest::Approx(f.at(p + "loss_d").item()).epsilon(1e-12));
    CHECK(losses.loss_g == doctest::Approx(f.at(p + "loss_g").item()).epsilon(1e-12));
    if (i == 0)
      CHECK(losses.r1 == doctest::Approx(f.at(p + "r1").item()).epsilon(1e-12));
    else
      CHECK(std::isnan(losses.r1));
  }
  // Adam's first steps move every weight by about lr whatever the gradient's size, so these compare the
  // update directions of every parameter, including D's after the R1 step.
  const double g_error = test::max_relative_difference(g, f.with_prefix("after.g."));
  const double d_error = test::max_relative_difference(d, f.with_prefix("after.d."));
  const double ema_error = test::max_relative_difference(g_ema, f.with_prefix("after.g_ema."));
  CAPTURE(g_error);
  CAPTURE(d_error);
  CAPTURE(ema_error);
  CHECK(g_error < 1e-12);
  CHECK(d_error < 1e-12);
  CHECK(ema_error < 1e-12);
  // And the step did move them: the comparison is not of untouched initial weights.
  CHECK(test::max_relative_difference(g, f.with_prefix("g.")) > 1e-4);
  CHECK(test::max_relative_difference(d, f.with_prefix("d.")) > 1e-4);
}
