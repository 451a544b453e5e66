#include <doctest/doctest.h>

#include <cmath>
#include <pixsyn/autograd/backward.hpp>
#include <pixsyn/train/adam.hpp>

using namespace pixsyn;

namespace {

// loss = sum(c * (x - t)^2), gradient 2 c (x - t).
const std::vector<double> target = {1.0, -2.0, 0.5}, curvature = {1.0, 3.0, 0.25};

Var<double> quadratic(const Var<double>& x) {
  auto t = Var<double>(Tensor<double>::from(target, {3}));
  auto c = Var<double>(Tensor<double>::from(curvature, {3}));
  auto d = x - t;
  return sum(c * d * d);
}

void loss_step(train::Adam<double>& adam, Var<double>& x) {
  adam.zero_grad();
  autograd::backward(quadratic(x));
  adam.step();
}

}  // namespace

TEST_CASE("Adam matches hand-computed torch.optim.Adam updates on a quadratic") {
  const std::vector<double> x0 = {0.0, 0.0, 2.0};
  auto x = Var<double>::parameter(Tensor<double>::from(x0, {3}));
  const train::AdamOptions o{.lr = 0.1, .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-8};
  train::Adam<double> adam({{"x", &x}}, o);

  // The first step moves each coordinate by lr against the sign of its gradient (m^ = g, v^ = g^2),
  // up to eps / |g|.
  loss_step(adam, x);
  CHECK(x.value().at({0}) == doctest::Approx(0.1).epsilon(1e-7));
  CHECK(x.value().at({1}) == doctest::Approx(-0.1).epsilon(1e-7));
  CHECK(x.value().at({2}) == doctest::Approx(1.9).epsilon(1e-7));

  // All steps against the update rule written out directly.
  std::vector<double> ref = x0, m(3), v(3);
  for (int t = 1; t <= 6; ++t) {
    if (t > 1) loss_step(adam, x);
    for (int i = 0; i < 3; ++i) {
      const double g = 2 * curvature[i] * (ref[i] - target[i]);
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g;
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g * g;
      const double mhat = m[i] / (1 - std::pow(o.beta1, t)), vhat = v[i] / (1 - std::pow(o.beta2, t));
      ref[i] -= o.lr * mhat / (std::sqrt(vhat) + o.eps);
      CHECK(x.value().at({i}) == doctest::Approx(ref[i]).epsilon(1e-12));
    }
  }
  const auto state = adam.state_dict();
  CHECK(state.at("x.step").item() == 6);
  for (int i = 0; i < 3; ++i) {
    CHECK(state.at("x.exp_avg").at({i}) == doctest::Approx(m[i]).epsilon(1e-12));
    CHECK(state.at("x.exp_avg_sq").at({i}) == doctest::Approx(v[i]).epsilon(1e-12));
  }
}

TEST_CASE("Adam defaults are PyTorch's and parameters without a gradient are skipped") {
  auto x = Var<double>::parameter(Tensor<double>::from({0.0, 0.0, 2.0}, {3}));
  auto unused = Var<double>::parameter(Tensor<double>::ones({2}));
  train::Adam<double> adam({{"x", &x}, {"unused", &unused}});
  CHECK(adam.options().lr == 1e-3);
  CHECK(adam.options().beta1 == 0.9);
  CHECK(adam.options().beta2 == 0.999);
  CHECK(adam.options().eps == 1e-8);
  loss_step(adam, x);
  CHECK(x.value().at({0}) == doctest::Approx(1e-3).epsilon(1e-9));
  CHECK(unused.value().to_vector() == std::vector<double>{1, 1});
  CHECK(adam.state_dict().at("unused.step").item() == 0);
  CHECK(adam.state_dict().at("x.step").item() == 1);
  adam.zero_grad();
  CHECK(!x.grad().defined());
}

TEST_CASE("Adam state saved and loaded continues exactly like an uninterrupted run") {
  const train::AdamOptions o{.lr = 0.05};
  auto a = Var<double>::parameter(Tensor<double>::from({0.0, 0.0, 2.0}, {3}));
  train::Adam<double> uninterrupted({{"x", &a}}, o);
  for (int i = 0; i < 10; ++i) loss_step(uninterrupted, a);

  auto b = Var<double>::parameter(Tensor<double>::from({0.0, 0.0, 2.0}, {3}));
  nn::StateDict<double> saved;
  Tensor<double> saved_value;
  {
    train::Adam<double> first({{"x", &b}}, o);
    for (int i = 0; i < 4; ++i) loss_step(first, b);
    saved = first.state_dict();
    saved_value = b.value().clone();
    loss_step(first, b);  // diverges after the snapshot; the reload must undo this
  }
  b.set_value(saved_value);
  train::Adam<double> resumed({{"x", &b}}, o);
  resumed.load_state_dict(saved);
  for (int i = 0; i < 6; ++i) loss_step(resumed, b);
  CHECK(b.value().to_vector() == a.value().to_vector());
  CHECK(resumed.state_dict().at("x.exp_avg_sq").to_vector() ==
        uninterrupted.state_dict().at("x.exp_avg_sq").to_vector());
}

TEST_CASE("Adam reports bad parameters and mismatched state") {
  auto x = Var<double>::parameter(Tensor<double>::zeros({3}));
  auto y = Var<double>::parameter(Tensor<double>::zeros({2, 2}));
  auto c = Var<double>::constant(Tensor<double>::zeros({3}));
  CHECK_THROWS_WITH_AS(train::Adam<double>({{"x", &x}, {"x", &y}}), doctest::Contains("listed twice"), pixsyn::Error);
  CHECK_THROWS_WITH_AS(train::Adam<double>({{"c", &c}}), doctest::Contains("'c'"), pixsyn::Error);

  train::Adam<double> adam({{"x", &x}, {"y", &y}});
  auto state = adam.state_dict();
  state.erase("y.exp_avg");
  state["x.exp_avg_sq"] = Tensor<double>::zeros({4});
  state["z.step"] = Tensor<double>::zeros({});
  CHECK_THROWS_WITH_AS(adam.load_state_dict(state),
                       doctest::Contains("1 missing, 1 unexpected and 1 wrongly shaped keys"), pixsyn::Error);
  try {
    adam.load_state_dict(state);
  } catch (const pixsyn::Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("y.exp_avg\n") != std::string::npos);
    CHECK(msg.find("z.step") != std::string::npos);
    CHECK(msg.find("x.exp_avg_sq: expected shape (3,), got (4,)") != std::string::npos);
  }
  auto fractional = adam.state_dict();
  fractional["x.step"] = Tensor<double>::scalar(1.5);
  CHECK_THROWS_WITH_AS(adam.load_state_dict(fractional), doctest::Contains("not a step count"), pixsyn::Error);
}
