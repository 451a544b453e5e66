#include <doctest/doctest.h>

#include <pixsyn/autograd/functions/activation.hpp>
#include <pixsyn/autograd/functions/math.hpp>
#include <pixsyn/autograd/functions/matmul.hpp>
#include <pixsyn/autograd/gradcheck.hpp>

#include <cmath>

using namespace pixsyn;

namespace {

// A two-layer MLP "discriminator" D(x) = sum(W2 softplus(W1 x + b1)) per sample.
Var<double> discriminator(const Var<double>& x, const Var<double>& w1, const Var<double>& b1, const Var<double>& w2) {
  return linear(softplus(linear(x, w1, b1)), w2, Var<double>());
}

// R1 = mean over the batch of ||dD(x)/dx||^2, with the input gradient recorded (create_graph) so
// that the penalty itself can be differentiated with respect to the weights.
Var<double> r1_penalty(const std::vector<Var<double>>& v) {
  autograd::enable_grad recording;  // gradcheck evaluates f under no_grad for finite differences
  const auto& x = v[0];
  const auto d = discriminator(x, v[1], v[2], v[3]);
  const auto g = autograd::grad(std::vector<Var<double>>{sum(d)}, std::vector<Var<double>>{x},
                                autograd::GradOptions{.create_graph = true})[0];
  return mean(sum(square(g), {1}));
}

}  // namespace

TEST_CASE("the R1 penalty's weight gradients match finite differences") {
  Philox gen{21};
  const auto x = Tensor<double>::randn({3, 4}, gen);
  const auto w1 = Tensor<double>::randn({5, 4}, gen);
  const auto b1 = Tensor<double>::randn({5}, gen);
  const auto w2 = Tensor<double>::randn({1, 5}, gen);
  auto result = autograd::gradcheck(r1_penalty, {x, w1, b1, w2}, {.second_order = false});
  INFO(result.message);
  CHECK(result.ok);

  // The classic silent bug: a penalty whose gradient never reaches the weights.
  auto leaves = std::vector<Var<double>>{Var<double>::parameter(x), Var<double>::parameter(w1),
                                         Var<double>::parameter(b1), Var<double>::parameter(w2)};
  autograd::backward(r1_penalty(leaves));
  for (int k = 1; k < 4; ++k) {
    double norm = 0;
    for (auto value : leaves[k].grad().value().to_vector()) norm += std::abs(value);
    CHECK(norm > 1e-3);
  }
}

TEST_CASE("create_graph is needed for the penalty to reach the weights") {
  Philox gen{3};
  auto x = Var<double>::parameter(Tensor<double>::randn({2, 4}, gen));
  auto w1 = Var<double>::parameter(Tensor<double>::randn({5, 4}, gen));
  auto b1 = Var<double>::parameter(Tensor<double>::randn({5}, gen));
  auto w2 = Var<double>::parameter(Tensor<double>::randn({1, 5}, gen));
  const auto g =
      autograd::grad(std::vector<Var<double>>{sum(discriminator(x, w1, b1, w2))}, std::vector<Var<double>>{x})[0];
  CHECK_FALSE(g.requires_grad());  // without create_graph the gradient is a constant
}
