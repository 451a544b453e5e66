#include <doctest/doctest.h>

#include <pixsyn/models/alis.hpp>
#include <pixsyn/models/alis/training.hpp>
#include <pixsyn/models/creps.hpp>
#include <pixsyn/models/creps/training.hpp>
#include <pixsyn/nn/stylegan2_discriminator.hpp>
#include <pixsyn/train/ema.hpp>
#include <pixsyn/train/stylegan2_ada_step.hpp>

#include "step_fixture.hpp"
#include "tiny_ada_models.hpp"

#include <cmath>
#include <string>

using namespace pixsyn;

namespace {

using test::tiny_alis;
using test::tiny_creps;
const nn::StyleGan2DiscriminatorConfig tiny_alis_d = test::tiny_ada_d, tiny_creps_d = test::tiny_ada_d;
using TinyAlis = alis::Generator<tiny_alis, double>;
using TinyCreps = creps::Generator<tiny_creps, double>;
constexpr std::int64_t batch = 4, start_images = 2000;

const char* phase_name(train::AdaPhase phase) {
  switch (phase) {
    case train::AdaPhase::generator:
      return "gmain";
    case train::AdaPhase::generator_regularization:
      return "greg";
    default:
      return "dmain";
  }
}

alis::TrainingDraw<double> alis_draw(const test::StepFixture& f, const std::string& p) {
  alis::TrainingDraw<double> d{.z = f.at(p + "z"), .mix_z = f.at(p + "mix_z")};
  for (int a = 0; a < 3; ++a) d.cutoff[a] = static_cast<int>(f.at(p + "cutoff").data()[a]);
  const auto& delta = f.at(p + "delta");
  for (std::int64_t b = 0; b < delta.numel(); ++b) d.delta.push_back(static_cast<std::int64_t>(delta.data()[b]));
  return d;
}

alis::SynthesisOptions<double> given_noise(const test::StepFixture& f, const std::string& p, int convs) {
  alis::SynthesisOptions<double> options{.noise = alis::NoiseMode::given};
  for (int k = 0; k < convs; ++k) options.maps.push_back(f.at(p + "noise." + std::to_string(k)));
  return options;
}

void check_losses(const test::StepFixture& f, const std::string& p, const train::AdaStepLosses& losses,
                  const train::PathLength& pl) {
  CHECK(losses.loss_g == doctest::Approx(f.at(p + "loss_g").item()).epsilon(1e-12));
  CHECK(losses.loss_d == doctest::Approx(f.at(p + "loss_d").item()).epsilon(1e-12));
  for (const auto& [key, value] : {std::pair<const char*, double>{"r1", losses.r1}, {"pl", losses.pl}}) {
    CAPTURE(key);
    const double want = f.at(p + key).item();
    if (std::isnan(want))
      CHECK(std::isnan(value));
    else
      CHECK(value == doctest::Approx(want).epsilon(1e-12));
  }
  CHECK(pl.running_mean() == doctest::Approx(f.at(p + "pl_mean").item()).epsilon(1e-12));
}

// Largest relative difference of the named buffers.
template <class Module>
double buffer_difference(const Module& m, const nn::StateDict<double>& want) {
  double worst = 0;
  for (const auto& [name, b] : m.named_buffers()) {
    const auto& w = want.at(name);
    double err = 0, scale = 1e-300;
    for (std::int64_t i = 0; i < w.numel(); ++i) {
      err = std::max(err, std::abs(b->data()[i] - w.data()[i]));
      scale = std::max(scale, std::abs(w.data()[i]));
    }
    worst = std::max(worst, err / scale);
  }
  return worst;
}

// Two iterations from the fixture's initial weights: generate(g, fixture prefix of the phase) ->
// Generated; after_step(g, images seen). Compares the losses and every weight and buffer at the end.
template <class G, class Generate, class AfterStep>
void check_against_reference(const std::string& family, double lr, Generate generate_phase, AfterStep after_step) {
  const auto f = test::StepFixture::load(family + "_step");
  G g, g_ema;
  g.load_state_dict(f.with_prefix("g."));
  g_ema.load_state_dict(f.with_prefix("g."));
  nn::StyleGan2Discriminator<double> d(tiny_alis_d);
  d.load_state_dict(f.with_prefix("d."));

  // Every parameter of the forward is stepped in every phase (SG2-ADA's `·0` terms; train/creps_recipe.hpp).
  const train::AdamOptions base{.lr = lr, .beta1 = 0, .beta2 = 0.99, .zero_missing_gradients = true};
  train::Adam<double> g_optimizer(g.named_parameters(), train::lazy_regularized(base, 4));
  train::Adam<double> d_optimizer(d.named_parameters(), train::lazy_regularized(base, 16));
  train::PathLength pl;
  std::int64_t images = start_images;

  for (int i = 0; i < 2; ++i) {
    CAPTURE(i);
    const std::string p = "fixture." + std::to_string(i) + ".";
    const auto generate = [&](train::AdaPhase phase) {
      return generate_phase(g, phase, f, p + phase_name(phase) + ".");
    };
    train::AdaRegularization<double> regularize{.r1 = i % 16 == 0};
    if (i % 4 == 0) {
      regularize.path_length = &pl;
      regularize.path_length_noise = f.at(p + "pl_noise");
    }
    const auto losses = train::stylegan2_ada_step(d, g_optimizer, d_optimizer, f.at(p + "reals"), generate, regularize);
    check_losses(f, p, losses, pl);
    after_step(g, images);
    train::update_ema(g_ema, g,
                      train::ema_beta(batch, images, {.half_life_images = batch * 10.0 / 32 * 1000, .rampup = 0.05}));
    images += batch;
  }
  const double g_error = test::max_relative_difference(g, f.with_prefix("after.g."));
  const double d_error = test::max_relative_difference(d, f.with_prefix("after.d."));
  const double ema_error = test::max_relative_difference(g_ema, f.with_prefix("after.g_ema."));
  const double buffer_error = buffer_difference(g_ema, f.with_prefix("after.g_ema."));
  MESSAGE(family, " step against PyTorch: G ", g_error, ", D ", d_error, ", G_ema ", ema_error, ", G_ema buffers ",
          buffer_error);
  CHECK(g_error < 1e-12);
  CHECK(d_error < 1e-12);
  CHECK(ema_error < 1e-12);
  CHECK(buffer_error < 1e-12);
  CHECK(test::max_relative_difference(g, f.with_prefix("g.")) > 1e-4);
  CHECK(test::max_relative_difference(d, f.with_prefix("d.")) > 1e-4);
}

}  // namespace

TEST_CASE("two ALIS training iterations (G, path length, D, R1, EMA) equal the PyTorch reference") {
  const int convs = 1 + 2 * (tiny_alis.log_size() - 2);
  check_against_reference<TinyAlis>(
      "alis", 0.0025,
      [&](TinyAlis& g, train::AdaPhase, const test::StepFixture& f, const std::string& q) {
        const auto draw = alis_draw(f, q);
        const auto frames = alis::synthesize_training(g, draw, draw.z.dim(0), given_noise(f, q, convs));
        alis::track_w_avg(g, frames);
        return train::Generated<double>{frames.images, frames.ws};
      },
      [](TinyAlis& g, std::int64_t images) {
        g.synthesis.max_shift_strength.data()[0] = alis::shift_strength(images);
      });
}

TEST_CASE("two CREPS training iterations (G, path length, D, R1, EMA) equal the PyTorch reference") {
  check_against_reference<TinyCreps>(
      "creps", 0.002,
      [](TinyCreps& g, train::AdaPhase phase, const test::StepFixture& f, const std::string& q) {
        const creps::TrainingDraw<double> draw{.z = f.at(q + "z"), .cutoff = tiny_creps.num_ws()};
        const auto out = creps::synthesize_training(g, draw, draw.z.dim(0));
        if (phase != train::AdaPhase::discriminator)
          g.mapping.track_w_avg(reshape(slice(out.ws.value(), 1, 0, 1), Shape{draw.z.dim(0), tiny_creps.w_dim}), 0.998);
        return train::Generated<double>{out.images, out.ws};
      },
      [](TinyCreps&, std::int64_t) {});
}
