#include <doctest/doctest.h>

#include <pixsyn/nn/rosinality_discriminator.hpp>
#include <pixsyn/nn/stylegan2_discriminator.hpp>
#include <pixsyn/train/adam.hpp>
#include <pixsyn/train/ema.hpp>
#include <pixsyn/train/losses.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "support/errors.hpp"

using namespace pixsyn;

namespace {

// The R1 penalty's gradient on every parameter, by backward through the recorded input gradient, compared
// with central differences of the penalty at a few elements of each parameter.
template <class Discriminator>
void check_r1_weight_gradients(Discriminator& d, const Tensor<double>& reals) {
  const auto penalty = [&] { return train::r1_penalty(d, reals).penalty.value().item(); };
  d.zero_grad();
  autograd::backward(train::r1_penalty(d, reals).penalty);
  const double h = 1e-6;
  int checked = 0, reached_count = 0;
  for (const auto& entry : d.named_parameters()) {
    const std::string& name = entry.first;  // a structured binding cannot be captured (clang 14)
    auto* p = entry.second;
    CAPTURE(name);
    // A bias enters the input gradient only through the leaky ReLUs' piecewise-constant slopes, so the
    // backward does not reach it: its true derivative is zero, which the differences must confirm.
    const bool reached = p->grad().defined();
    if (reached) ++reached_count;
    const std::int64_t n = p->numel();
    for (std::int64_t i : {std::int64_t(0), n / 2, n - 1}) {
      double* value = p->value().data() + i;
      const double saved = *value;
      *value = saved + h;
      const double plus = penalty();
      *value = saved - h;
      const double minus = penalty();
      *value = saved;
      const double numeric = (plus - minus) / (2 * h);
      const double analytic = reached ? p->grad().value().data()[i] : 0.0;
      CAPTURE(i);
      CHECK(analytic == doctest::Approx(numeric).epsilon(1e-5).scale(1e-4));
      ++checked;
    }
  }
  CHECK(checked >= 30);
  CHECK(reached_count >= 6);  // every weight
}

}  // namespace

TEST_CASE("the R1 penalty moves D's weights as finite differences predict (both discriminators)") {
  const auto reals = Tensor<double>::randn({2, 3, 8, 8}, Philox{11});
  SUBCASE("rosinality (CIPS)") {
    nn::RosinalityDiscriminator<double> d({.size = 8, .max_channels = 4}, 12);
    check_r1_weight_gradients(d, reals);
  }
  SUBCASE("StyleGAN2-ADA (CREPS, ALIS), clamped") {
    nn::StyleGan2Discriminator<double> d({.size = 8, .channel_max = 4, .conv_clamp = 256, .mbstd_group = 2}, 13);
    check_r1_weight_gradients(d, reals);
  }
}

TEST_CASE("the R1 penalty is the batch mean of the squared input-gradient norms") {
  // D(x) = Σ_chw a ⊙ x per sample: ∂ΣD/∂x_b = a for every sample, so R1 = ‖a‖².
  const auto a = Tensor<double>::randn({1, 2, 3, 3}, Philox{4});
  const auto d = [&](const Var<double>& x) { return sum(mul(x, Var<double>(a)), {1, 2, 3}, true); };
  const auto r1 = train::r1_penalty(d, Tensor<double>::randn({3, 2, 3, 3}, Philox{5}));
  double norm = 0;
  for (double v : a.to_vector()) norm += v * v;
  CHECK(r1.penalty.value().item() == doctest::Approx(norm).epsilon(1e-14));
  CHECK(r1.logits.shape() == Shape{3, 1, 1, 1});
}

TEST_CASE("the logistic losses") {
  const auto real = Var<double>(Tensor<double>::from({0.5, -2.0}, {2, 1}));
  const auto fake = Var<double>(Tensor<double>::from({1.0, 30.0}, {2, 1}));
  const auto softplus = [](double x) { return std::log1p(std::exp(x)); };
  CHECK(train::discriminator_loss(real, fake).value().item() ==
        doctest::Approx((softplus(-0.5) + softplus(2.0)) / 2 + (softplus(1.0) + softplus(30.0)) / 2).epsilon(1e-14));
  CHECK(train::generator_loss(fake).value().item() ==
        doctest::Approx((softplus(-1.0) + softplus(-30.0)) / 2).epsilon(1e-14));
}

TEST_CASE("lazy regularisation corrects Adam's lr and betas by k / (k + 1)") {
  const train::AdamOptions base{.lr = 0.002, .beta1 = 0, .beta2 = 0.99};
  const auto d = train::lazy_regularized(base, 16);
  CHECK(d.lr == doctest::Approx(0.002 * 16 / 17).epsilon(1e-15));
  CHECK(d.beta1 == 0);
  CHECK(d.beta2 == doctest::Approx(std::pow(0.99, 16.0 / 17)).epsilon(1e-15));
  CHECK(d.beta2 == doctest::Approx(0.990585).epsilon(1e-6));  // cips.md §8: ≈ 0.99059
  const auto g = train::lazy_regularized(base, 4);
  CHECK(g.lr == doctest::Approx(0.0016).epsilon(1e-15));
  CHECK(g.beta2 == doctest::Approx(0.991992).epsilon(1e-6));
  CHECK(train::lazy_regularized(base, 0).lr == base.lr);
  CHECK(test::contains(test::error_of([&] { train::lazy_regularized(base, -1); }), "interval -1 is negative"));
}

TEST_CASE("EMA decay from the half-life in images, with SG2-ADA's ramp-up") {
  // CIPS: 0.5^(32 / 10000) at batch 32 (cips.md §8).
  CHECK(train::ema_beta(32, 0) == doctest::Approx(0.997784).epsilon(1e-6));
  // SG2-ADA at batch 64, half-life 20k images, ramp-up 0.05: after 100k images the half-life is 5k.
  const train::EmaOptions sg2{.half_life_images = 20'000, .rampup = 0.05};
  CHECK(train::ema_beta(64, 100'000, sg2) == doctest::Approx(std::pow(0.5, 64.0 / 5'000)).epsilon(1e-15));
  CHECK(train::ema_beta(64, 10'000'000, sg2) == doctest::Approx(std::pow(0.5, 64.0 / 20'000)).epsilon(1e-15));
  CHECK(train::ema_beta(64, 0, sg2) == 0);  // the first step copies G
  CHECK(test::contains(test::error_of([] { train::ema_beta(0, 0); }), "batch 0"));
}

TEST_CASE("update_ema moves parameters toward the model's and copies buffers") {
  nn::StyleGan2Discriminator<double> model({.size = 8, .channel_max = 2}, 1), ema({.size = 8, .channel_max = 2}, 2);
  const auto before = ema.state_dict();
  model.blocks[0]->resample_filter = mul(model.blocks[0]->resample_filter, 2.0);
  train::update_ema(ema, model, 0.75);
  const auto model_state = model.state_dict();
  for (const auto& entry : ema.named_parameters()) {
    const std::string& name = entry.first;  // a structured binding cannot be captured (clang 14)
    auto* p = entry.second;
    const auto& m = model_state.at(name);
    CAPTURE(name);
    for (std::int64_t i = 0; i < p->numel(); ++i)
      CHECK(p->value().data()[i] ==
            doctest::Approx(m.data()[i] + 0.75 * (before.at(name).data()[i] - m.data()[i])).epsilon(1e-14));
  }
  CHECK(ema.blocks[0]->resample_filter.data()[0] == doctest::Approx(2.0 / 64));
  nn::StyleGan2Discriminator<double> other({.size = 16, .channel_max = 2});
  CHECK(test::contains(test::error_of([&] { train::update_ema(other, model, 0.5); }), "update_ema"));
}
