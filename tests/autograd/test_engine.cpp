#include <doctest/doctest.h>

#include <pixsyn/pixsyn.hpp>

using namespace pixsyn;

TEST_CASE("backward of a small expression matches hand derivatives") {
  auto x = Var<double>::parameter(Tensor<double>::from({1, 2, 3}, {3}));
  auto y = Var<double>::parameter(Tensor<double>::from({4, 5, 6}, {3}));
  auto loss = sum(x * y + x * x);
  autograd::backward(loss);
  CHECK(x.grad().value().to_vector() == std::vector<double>{4 + 2, 5 + 4, 6 + 6});
  CHECK(y.grad().value().to_vector() == std::vector<double>{1, 2, 3});
}

TEST_CASE("gradcheck passes for add, mul, div with broadcasting and sum") {
  Philox gen{7};
  auto a = Tensor<double>::randn({2, 3}, gen);
  auto b = add(Tensor<double>::rand({3}, gen), 1.0);
  auto result = autograd::gradcheck(
      [](const std::vector<Var<double>>& v) { return sum(div(mul(v[0], v[1]), v[1] + v[0] * v[0] + 3.0), {1}, true); },
      {a, b});
  INFO(result.message);
  CHECK(result.ok);
}

TEST_CASE("a 100,000-node chain backpropagates and frees without overflowing the stack") {
  auto x = Var<float>::parameter(Tensor<float>::ones({4}));
  Var<float> y = x;
  for (int i = 0; i < 100000; ++i) y = y * 1.0f + 0.0f;
  autograd::backward(sum(y));
  CHECK(x.grad().value().to_vector() == std::vector<float>{1, 1, 1, 1});
}

TEST_CASE("no_grad records nothing; enable_grad records again") {
  auto x = Var<double>::parameter(Tensor<double>::ones({2}));
  {
    autograd::no_grad guard;
    CHECK_FALSE((x * x).requires_grad());
    {
      autograd::enable_grad again;
      CHECK((x * x).requires_grad());
    }
    CHECK_FALSE(autograd::grad_enabled());
  }
  CHECK(autograd::grad_enabled());
}

TEST_CASE("an op without a second derivative throws under create_graph instead of returning zeros") {
  auto x = Var<double>::parameter(Tensor<double>::from({2.0}, {1}));
  auto y = autograd::detail::record<double, Cpu>(
      "once_only", x.value().clone(), {x},
      [](const Var<double>& g, const auto&, const auto&) { return std::vector<Var<double>>{g}; },
      /*twice_differentiable=*/false);
  CHECK_NOTHROW(autograd::grad(sum(y), x));
  CHECK_THROWS_WITH_AS(autograd::grad(sum(y), x, {.create_graph = true}),
                       doctest::Contains("'once_only' has no second derivative"), Error);
}

TEST_CASE("gradients of unused inputs are zero; backward needs a scalar or an output gradient") {
  auto x = Var<double>::parameter(Tensor<double>::ones({2}));
  auto unused = Var<double>::parameter(Tensor<double>::ones({3}));
  const auto g = autograd::grad(std::vector<Var<double>>{sum(x)}, std::vector<Var<double>>{x, unused});
  CHECK(g[1].value().to_vector() == std::vector<double>{0, 0, 0});
  CHECK_THROWS_WITH_AS(autograd::backward(x * x), doctest::Contains("pass an output gradient"), Error);
}
