// Elementwise ops: unary math, activations, broadcasting arithmetic, and the reductions/shape ops
// their gradients use. Forward values against std:: in double, first- and second-order gradchecks,
// and the errors for bad shapes and axes.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <pixsyn/autograd/functions/activation.hpp>
#include <pixsyn/autograd/functions/arithmetic.hpp>
#include <pixsyn/autograd/functions/math.hpp>
#include <pixsyn/autograd/functions/reduce.hpp>
#include <pixsyn/autograd/gradcheck.hpp>
#include <pixsyn/ops/activation.hpp>
#include <pixsyn/ops/math.hpp>

#include "support/errors.hpp"
#include "support/leaky_relu_backward_inputs.hpp"

using namespace pixsyn;
using pixsyn::test::contains;
using pixsyn::test::error_of;

namespace {

using VarD = Var<double>;
using Vars = std::vector<VarD>;

void check_gradients(const autograd::GradFunction& f, const std::vector<Tensor<double>>& inputs) {
  const auto result = autograd::gradcheck(f, inputs);
  INFO(result.message);
  CHECK(result.ok);
}

// Normal numbers pushed at least `gap` away from zero: finite differences stay off the kinks.
Tensor<double> away_from_zero(const Shape& shape, Philox& gen, double gap = 0.1) {
  auto t = Tensor<double>::randn(shape, gen);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] += t.data()[i] >= 0 ? gap : -gap;
  return t;
}

Tensor<double> positive(const Shape& shape, Philox& gen) { return add(Tensor<double>::rand(shape, gen), 0.5); }

// Reference for broadcasting written independently of the library: explicit multi-indices.
template <class F>
std::vector<double> naive_broadcast(const Tensor<double>& a, const Tensor<double>& b, const Shape& out, F f) {
  std::vector<double> result;
  std::vector<std::int64_t> idx(static_cast<std::size_t>(out.rank()), 0);
  auto offset = [&](const Tensor<double>& t) {
    std::int64_t flat = 0;
    for (int d = 0; d < t.rank(); ++d) {
      const std::int64_t i = idx[static_cast<std::size_t>(d + out.rank() - t.rank())];
      flat = flat * t.dim(d) + (t.dim(d) == 1 ? 0 : i);
    }
    return flat;
  };
  for (std::int64_t n = 0; n < out.numel(); ++n) {
    std::int64_t rest = n;
    for (int d = out.rank() - 1; d >= 0; --d) {
      idx[static_cast<std::size_t>(d)] = rest % out[d];
      rest /= out[d];
    }
    result.push_back(f(a.data()[offset(a)], b.data()[offset(b)]));
  }
  return result;
}

void check_close(const std::vector<double>& actual, const std::vector<double>& expected, double tol = 1e-12) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    INFO("element ", i);
    CHECK(std::abs(actual[i] - expected[i]) <= tol * (1 + std::abs(expected[i])));
  }
}

template <class T>
std::vector<double> as_double(const Tensor<T>& t) {
  const auto v = t.to_vector();
  return std::vector<double>(v.begin(), v.end());
}

template <class T>
Tensor<T> convert(const Tensor<double>& t) {
  const auto v = t.to_vector();
  return Tensor<T>::from(std::vector<T>(v.begin(), v.end()), t.shape());
}

template <class T>
double tolerance() {
  return std::is_same_v<T, float> ? 2e-6 : 1e-14;
}

// The unary ops under test with their std:: reference and a generator of valid inputs.
struct UnaryCase {
  const char* name;
  std::function<Tensor<float>(const Tensor<float>&)> tensor_f;
  std::function<Tensor<double>(const Tensor<double>&)> tensor_d;
  std::function<VarD(const VarD&)> var;
  double (*reference)(double);
  bool positive_only;
};

std::vector<UnaryCase> unary_cases() {
  return {
      {"exp", [](const auto& x) { return exp(x); }, [](const auto& x) { return exp(x); },
       [](const VarD& x) { return exp(x); }, [](double v) { return std::exp(v); }, false},
      {"log", [](const auto& x) { return log(x); }, [](const auto& x) { return log(x); },
       [](const VarD& x) { return log(x); }, [](double v) { return std::log(v); }, true},
      {"sqrt", [](const auto& x) { return sqrt(x); }, [](const auto& x) { return sqrt(x); },
       [](const VarD& x) { return sqrt(x); }, [](double v) { return std::sqrt(v); }, true},
      {"rsqrt", [](const auto& x) { return rsqrt(x); }, [](const auto& x) { return rsqrt(x); },
       [](const VarD& x) { return rsqrt(x); }, [](double v) { return 1 / std::sqrt(v); }, true},
      {"square", [](const auto& x) { return square(x); }, [](const auto& x) { return square(x); },
       [](const VarD& x) { return square(x); }, [](double v) { return v * v; }, false},
      {"abs", [](const auto& x) { return abs(x); }, [](const auto& x) { return abs(x); },
       [](const VarD& x) { return abs(x); }, [](double v) { return std::abs(v); }, false},
      {"sin", [](const auto& x) { return sin(x); }, [](const auto& x) { return sin(x); },
       [](const VarD& x) { return sin(x); }, [](double v) { return std::sin(v); }, false},
      {"cos", [](const auto& x) { return cos(x); }, [](const auto& x) { return cos(x); },
       [](const VarD& x) { return cos(x); }, [](double v) { return std::cos(v); }, false},
      {"sigmoid", [](const auto& x) { return sigmoid(x); }, [](const auto& x) { return sigmoid(x); },
       [](const VarD& x) { return sigmoid(x); }, [](double v) { return 1 / (1 + std::exp(-v)); }, false},
      {"softplus", [](const auto& x) { return softplus(x); }, [](const auto& x) { return softplus(x); },
       [](const VarD& x) { return softplus(x); }, [](double v) { return std::log(1 + std::exp(v)); }, false},
  };
}

template <class T>
Tensor<T> apply(const UnaryCase& c, const Tensor<T>& x) {
  if constexpr (std::is_same_v<T, float>)
    return c.tensor_f(x);
  else
    return c.tensor_d(x);
}

// Plain-loop reference of bias_leaky_relu in double.
std::vector<double> naive_bias_lrelu(const Tensor<double>& x, const Tensor<double>& b, int axis, double slope,
                                     double gain, double clamp) {
  std::int64_t inner = 1;
  for (int a = axis + 1; a < x.rank(); ++a) inner *= x.dim(a);
  std::vector<double> y;
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    double v = x.data()[i] + b.data()[(i / inner) % x.dim(axis)];
    v = (v > 0 ? v : slope * v) * gain;
    if (clamp >= 0) v = std::min(std::max(v, -clamp), clamp);
    y.push_back(v);
  }
  return y;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Unary math and softplus

TEST_CASE_TEMPLATE("elementwise: unary ops match std:: functions", T, float, double) {
  Philox gen{11};
  const auto signed_in = Tensor<double>::randn({3, 5, 7}, gen);
  const auto positive_in = positive({3, 5, 7}, gen);
  for (const auto& c : unary_cases()) {
    CAPTURE(c.name);
    const auto& in = c.positive_only ? positive_in : signed_in;
    const auto x = convert<T>(in);
    const auto y = apply(c, x);
    REQUIRE(y.shape() == x.shape());
    std::vector<double> expected;
    for (double v : as_double(x)) expected.push_back(c.reference(v));
    check_close(as_double(y), expected, tolerance<T>());
  }
}

TEST_CASE_TEMPLATE("elementwise: sigmoid and softplus stay finite and accurate at extreme inputs", T, float, double) {
  const auto x = Tensor<T>::from({T(-1000), T(-40), T(-1e-8), T(0), T(1e-8), T(40), T(1000)}, {7});
  const auto s = sigmoid(x).to_vector();
  const auto p = softplus(x).to_vector();
  CHECK(s[0] == T(0));
  CHECK(s[3] == T(0.5));
  CHECK(s[6] == T(1));
  CHECK(p[6] == T(1000));  // large x: softplus(x) = x
  CHECK(p[5] == doctest::Approx(40.0));
  CHECK(p[0] == T(0));
  CHECK(p[1] == doctest::Approx(std::exp(-40.0)).epsilon(1e-5));  // no cancellation in 1 + exp(x)
  CHECK(p[3] == doctest::Approx(std::log(2.0)));
  for (std::size_t i = 0; i < s.size(); ++i) {
    CHECK(std::isfinite(s[i]));
    CHECK(std::isfinite(p[i]));
  }
}

TEST_CASE("elementwise: unary ops pass first- and second-order gradcheck") {
  Philox gen{12};
  for (const auto& c : unary_cases()) {
    CAPTURE(c.name);
    const auto x = c.positive_only ? positive({2, 3}, gen) : away_from_zero({2, 3}, gen);
    check_gradients([&](const Vars& v) { return c.var(v[0]); }, {x});
  }
}

TEST_CASE("elementwise: Var unary ops compute the Tensor values and record only when asked") {
  Philox gen{13};
  const auto x = positive({4}, gen);
  for (const auto& c : unary_cases()) {
    CAPTURE(c.name);
    const auto y = c.var(VarD::constant(x));
    CHECK_FALSE(y.requires_grad());
    CHECK(y.value().to_vector() == c.tensor_d(x).to_vector());
    CHECK(c.var(VarD::parameter(x)).requires_grad());
  }
}

TEST_CASE("elementwise: abs backward uses the sign and zero at zero") {
  auto x = VarD::parameter(Tensor<double>::from({-2, 0, 3}, {3}));
  autograd::backward(sum(abs(x)));
  CHECK(x.grad().value().to_vector() == std::vector<double>{-1, 0, 1});
}

TEST_CASE("elementwise: softplus backward is the sigmoid, also for large inputs") {
  auto x = VarD::parameter(Tensor<double>::from({-800, -1, 0, 2, 800}, {5}));
  autograd::backward(sum(softplus(x)));
  check_close(x.grad().value().to_vector(), sigmoid(x.value()).to_vector());
  CHECK(x.grad().value().to_vector()[4] == 1.0);
}

// ---------------------------------------------------------------------------------------------------
// leaky_relu and bias_leaky_relu

TEST_CASE_TEMPLATE("elementwise: leaky_relu slope, gain and clamp", T, float, double) {
  const auto x = Tensor<T>::from({T(-10), T(-1), T(-0.5), T(0), T(0.5), T(1), T(10)}, {7});
  CHECK(leaky_relu(x).to_vector() == std::vector<T>{T(-10) * T(0.2), T(-0.2), T(-0.5) * T(0.2), 0, T(0.5), 1, 10});
  const T g = static_cast<T>(std::sqrt(2.0));
  const auto y = leaky_relu(x, {.slope = 0.1, .gain = std::sqrt(2.0), .clamp = 1}).to_vector();
  const std::vector<T> expected{T(-1), T(-1) * T(0.1) * g, T(-0.5) * T(0.1) * g, 0, T(0.5) * g, T(1), T(1)};
  for (std::size_t i = 0; i < y.size(); ++i) CHECK(y[i] == doctest::Approx(expected[i]).epsilon(1e-6));
  // Clamped values are exactly the bound.
  CHECK(y[0] == T(-1));
  CHECK(y[6] == T(1));
  // clamp = 0 clamps everything to zero; a negative clamp is off.
  for (T v : leaky_relu(x, {.clamp = 0}).to_vector()) CHECK(v == T(0));
  CHECK(leaky_relu(x, {.clamp = -5}).to_vector() == leaky_relu(x).to_vector());
}

TEST_CASE("elementwise: leaky_relu gradient is gain, slope * gain, or zero where clamped") {
  auto x = VarD::parameter(Tensor<double>::from({-10, -1, 0.5, 0.6, 10}, {5}));
  const LeakyReluOptions o{.slope = 0.2, .gain = 2, .clamp = 1.5};
  autograd::backward(sum(leaky_relu(x, o)));
  // y = -4 (clamped), -0.4, 1, 1.2, 20 (clamped)
  CHECK(x.grad().value().to_vector() == std::vector<double>{0, 0.4, 2, 2, 0});
}

TEST_CASE("elementwise: leaky_relu passes first- and second-order gradcheck") {
  Philox gen{21};
  const auto x = away_from_zero({3, 4}, gen);
  check_gradients([](const Vars& v) { return leaky_relu(v[0]); }, {x});
  check_gradients([](const Vars& v) { return leaky_relu(v[0], {.slope = 0.1, .gain = std::sqrt(2.0)}); }, {x});
  // With a clamp: inputs chosen so that outputs stay away from +-clamp.
  const auto xc = Tensor<double>::from({-3, -0.5, 0.3, 0.6, 2.5, -7, 1.5, -0.2}, {2, 4});
  check_gradients([](const Vars& v) { return leaky_relu(v[0], {.slope = 0.2, .gain = std::sqrt(2.0), .clamp = 1}); },
                  {xc});
}

TEST_CASE_TEMPLATE("elementwise: leaky_relu_backward is the gradient times leaky_relu_derivative, bit for bit", T,
                   float, double) {
  const std::vector<LeakyReluOptions> options = {{},
                                                 {.slope = 0.2, .gain = std::sqrt(2.0)},
                                                 {.slope = 0.2, .gain = std::sqrt(2.0), .clamp = 0.8},
                                                 {.slope = 0.1, .gain = 2, .clamp = 256},
                                                 {.slope = 0, .gain = 1, .clamp = 0}};
  std::uint64_t seed = 40;
  for (const auto& o : options) {
    // The last shape runs on several threads (more elements than parallel_grain).
    for (const Shape& shape : {Shape{7}, Shape{3, 5, 33}, Shape{2, 300, 67}}) {
      CAPTURE(o.slope);
      CAPTURE(o.clamp);
      CAPTURE(shape);
      const auto [g, y] = test::leaky_relu_backward_inputs<T>(shape, o, seed++);
      const auto fused = leaky_relu_backward(g, y, o);
      const auto two_pass = mul(g, detail::leaky_relu_derivative(y, o));
      REQUIRE(fused.shape() == shape);
      CHECK(std::memcmp(fused.data(), two_pass.data(), sizeof(T) * shape.numel()) == 0);
    }
  }
  // By hand: gain 2, slope 0.25 (so slope · gain = 0.5), clamp 3; zero where y sits on or beyond a bound, with the
  // gradient's sign.
  const LeakyReluOptions o{.slope = 0.25, .gain = 2, .clamp = 3};
  const auto y = Tensor<T>::from({T(1), T(-1), T(0), T(-0.0), T(3), T(-3), T(2.5), T(-5)}, {8});
  const auto g = Tensor<T>::from({T(3), T(3), T(-2), T(5), T(-7), T(7), T(-1), T(-4)}, {8});
  const auto d = leaky_relu_backward(g, y, o).to_vector();
  CHECK(d == std::vector<T>{T(6), T(1.5), T(-1), T(2.5), T(0), T(0), T(-2), T(0)});
  CHECK(std::signbit(d[4]));
  CHECK(std::signbit(d[7]));
  CHECK_FALSE(std::signbit(d[5]));
}

TEST_CASE("elementwise: leaky_relu_backward on Var is linear in the gradient, with itself as its backward") {
  Philox gen{41};
  const LeakyReluOptions o{.slope = 0.2, .gain = std::sqrt(2.0), .clamp = 1};
  // y with entries on both slopes, at the bounds (zero derivative) and at zero; a constant: never differentiated.
  const auto y = Tensor<double>::from({-0.2, 0.7, 1, -1, 0, 0.3, -0.05, 0.9}, {2, 4});
  const auto g = Tensor<double>::randn({2, 4}, gen);
  // Values equal the Tensor op's; a constant gradient records nothing.
  const auto constant = leaky_relu_backward(VarD::constant(g), y, o);
  CHECK_FALSE(constant.requires_grad());
  CHECK(constant.value().to_vector() == leaky_relu_backward(g, y, o).to_vector());
  // Its gradient in g is the same op applied to the incoming gradient r.
  auto gv = VarD::parameter(g);
  const auto r = Tensor<double>::randn({2, 4}, gen);
  autograd::backward(sum(mul(leaky_relu_backward(gv, y, o), VarD::constant(r))));
  CHECK(gv.grad().value().to_vector() == leaky_relu_backward(r, y, o).to_vector());
  check_gradients([&](const Vars& v) { return leaky_relu_backward(v[0], y, o); }, {g});
  check_gradients([&](const Vars& v) { return square(leaky_relu_backward(v[0], y, {.slope = 0.1, .gain = 2})); }, {g});
}

TEST_CASE("elementwise: leaky_relu's second derivatives through a product (R1-like) pass gradcheck") {
  // d/dx leaky_relu(x ⊙ w) = w ⊙ mask, whose derivative in w is the mask: second order runs through the fused
  // backward's own backward. Products kept off 0 and their outputs (gain sqrt(2)) away from the clamp 1.
  Philox gen{42};
  const auto x = away_from_zero({3, 4}, gen, 0.3);
  auto w = away_from_zero({3, 4}, gen, 0.3);
  for (std::int64_t i = 0; i < w.numel(); ++i) {
    const double p = x.data()[i] * w.data()[i], out = std::abs(p > 0 ? p : 0.2 * p) * std::sqrt(2.0);
    if (out > 0.8 && out < 1.2) w.data()[i] *= 2;
  }
  const auto b = Tensor<double>::from({0, 0, 0, 0}, {4});
  for (double clamp : {-1.0, 1.0}) {
    CAPTURE(clamp);
    const LeakyReluOptions o{.slope = 0.2, .gain = std::sqrt(2.0), .clamp = clamp};
    check_gradients([&](const Vars& v) { return leaky_relu(mul(v[0], v[1]), o); }, {x, w});
    check_gradients([&](const Vars& v) { return bias_leaky_relu(mul(v[0], v[1]), v[2], -1, o); }, {x, w, b});
  }
}

TEST_CASE("elementwise: leaky_relu_backward refuses a gradient of another shape and bad options") {
  const auto y = Tensor<float>::zeros({2, 3});
  const std::string msg = error_of([&] { leaky_relu_backward(Tensor<float>::zeros({3, 2}), y); });
  CHECK(contains(msg, "leaky_relu_backward"));
  CHECK(contains(msg, "(3, 2)"));
  CHECK(contains(msg, "(2, 3)"));
  CHECK(contains(error_of([&] { leaky_relu_backward(y, y, {.slope = -1}); }), "slope"));
  CHECK(contains(error_of([&] { leaky_relu_backward(Var<float>::parameter(y), Tensor<float>::zeros({6})); }),
                 "leaky_relu_backward"));
}

TEST_CASE_TEMPLATE("elementwise: bias_leaky_relu matches a plain loop for every axis", T, float, double) {
  Philox gen{22};
  const auto x = Tensor<double>::randn({2, 3, 4, 5}, gen);
  const double slope = 0.2, gain = std::sqrt(2.0);
  for (int axis : {0, 1, 2, 3, -1, -3}) {
    CAPTURE(axis);
    const int a = axis < 0 ? axis + 4 : axis;
    const auto b = Tensor<double>::randn({x.dim(a)}, gen);
    for (double clamp : {-1.0, 0.5}) {
      CAPTURE(clamp);
      const auto xt = convert<T>(x);
      const auto bt = convert<T>(b);
      const auto y = bias_leaky_relu(xt, bt, axis, {.slope = slope, .gain = gain, .clamp = clamp});
      REQUIRE(y.shape() == x.shape());
      // The reference runs on the T-rounded inputs, in double.
      check_close(as_double(y),
                  naive_bias_lrelu(Tensor<double>::from(as_double(xt), x.shape()),
                                   Tensor<double>::from(as_double(bt), b.shape()), a, slope, gain, clamp),
                  std::is_same_v<T, float> ? 1e-6 : 1e-15);
    }
  }
  // Rank 1: the bias is added elementwise.
  const auto x1 = Tensor<T>::from({T(-1), T(2)}, {2});
  const auto b1 = Tensor<T>::from({T(0.5), T(-3)}, {2});
  CHECK(bias_leaky_relu(x1, b1, 0, {.slope = 0.5}).to_vector() == std::vector<T>{T(-0.25), T(-0.5)});
}

TEST_CASE("elementwise: bias_leaky_relu on large tensors (threaded) equals the unfused composite") {
  Philox gen{23};
  const LeakyReluOptions o{.slope = 0.2, .gain = std::sqrt(2.0), .clamp = 256};
  // Channels-last (B, P, C) with axis = -1 and channels-first (B, C, H, W) with axis = 1.
  const auto xl = Tensor<float>::randn({2, 4096, 16}, gen);
  const auto bl = Tensor<float>::randn({16}, gen);
  CHECK(bias_leaky_relu(xl, bl, -1, o).to_vector() == leaky_relu(add(xl, bl), o).to_vector());
  const auto xf = Tensor<float>::randn({2, 16, 64, 64}, gen);
  const auto bf = Tensor<float>::randn({16}, gen);
  CHECK(bias_leaky_relu(xf, bf, 1, o).to_vector() == leaky_relu(add(xf, bf.reshape({16, 1, 1})), o).to_vector());
}

TEST_CASE("elementwise: bias_leaky_relu passes first- and second-order gradcheck in x and bias") {
  Philox gen{24};
  const Shape shape{2, 3, 2, 2};
  for (int axis : {0, 1, 3, -1}) {
    for (double clamp : {-1.0, 2.0}) {
      CAPTURE(axis);
      CAPTURE(clamp);
      const int a = axis < 0 ? axis + 4 : axis;
      const auto b = Tensor<double>::randn({shape[a]}, gen);
      // Pre-activations x + b kept off 0 and their outputs off +-clamp: gain sqrt(2) maps the pre-activations
      // below 1.3 and above 1.5 in magnitude away from 2.
      auto pre = away_from_zero(shape, gen, 0.1);
      for (std::int64_t i = 0; i < pre.numel(); ++i) {
        double& v = pre.data()[i];
        if (std::abs(v) > 1.3 && std::abs(v) < 1.5) v *= 1.3;
      }
      const auto x = sub(pre, broadcast_to(a == 3 ? b : b.reshape(a == 1 ? Shape{3, 1, 1} : Shape{2, 1, 1, 1}), shape));
      const LeakyReluOptions o{.slope = 0.2, .gain = std::sqrt(2.0), .clamp = clamp};
      check_gradients([&](const Vars& v) { return bias_leaky_relu(v[0], v[1], axis, o); }, {x, b});
    }
  }
  // Rank 1 (the bias gradient is dx itself).
  const auto b1 = Tensor<double>::from({0.3, -0.4, 1.0}, {3});
  const auto x1 = Tensor<double>::from({0.5, -1.0, 0.2}, {3});
  check_gradients([](const Vars& v) { return bias_leaky_relu(v[0], v[1], 0); }, {x1, b1});
}

TEST_CASE("elementwise: bias_leaky_relu gradients by hand, including clamped entries") {
  auto x = VarD::parameter(Tensor<double>::from({1, -1, 3, -2, 0.5, 4}, {2, 3}));
  auto b = VarD::parameter(Tensor<double>::from({0, 0.5, -1}, {3}));
  // pre = [[1, -0.5, 2], [-2, 1, 3]], gain 2, clamp 5: y = [[2, -0.2, 4], [-0.8, 2, 6 -> 5]]
  auto y = bias_leaky_relu(x, b, 1, {.slope = 0.2, .gain = 2, .clamp = 5});
  check_close(y.value().to_vector(), {2, -0.2, 4, -0.8, 2, 5});
  autograd::backward(sum(y));
  CHECK(x.grad().value().to_vector() == std::vector<double>{2, 0.4, 2, 0.4, 2, 0});
  check_close(b.grad().value().to_vector(), {2.4, 2.4, 2});
  // Only x requires a gradient: the bias is a constant and gets none.
  auto xc = VarD::parameter(x.value());
  auto bc = VarD::constant(b.value());
  autograd::backward(sum(bias_leaky_relu(xc, bc, 1, {.slope = 0.2, .gain = 2, .clamp = 5})));
  CHECK(xc.grad().value().to_vector() == x.grad().value().to_vector());
  CHECK_FALSE(bc.grad().defined());
}

TEST_CASE("elementwise: bias_leaky_relu and leaky_relu reject bad axes, bias shapes and options") {
  const auto x = Tensor<float>::zeros({2, 3, 4});
  std::string msg = error_of([&] { bias_leaky_relu(x, Tensor<float>::zeros({3}), 3); });
  CHECK(contains(msg, "bias_leaky_relu"));
  CHECK(contains(msg, "axis 3"));
  CHECK(contains(msg, "(2, 3, 4)"));
  CHECK_THROWS_AS(bias_leaky_relu(x, Tensor<float>::zeros({2}), -4), pixsyn::Error);
  msg = error_of([&] { bias_leaky_relu(x, Tensor<float>::zeros({4}), 1); });
  CHECK(contains(msg, "bias_leaky_relu"));
  CHECK(contains(msg, "(4,)"));
  CHECK(contains(msg, "(2, 3, 4)"));
  CHECK_THROWS_AS(bias_leaky_relu(x, Tensor<float>::zeros({1, 3}), 1), pixsyn::Error);
  CHECK(contains(error_of([&] { leaky_relu(x, {.gain = 0}); }), "gain"));
  CHECK(contains(error_of([&] { leaky_relu(x, {.slope = -0.1}); }), "slope"));
  CHECK(contains(error_of([&] { bias_leaky_relu(x, Tensor<float>::zeros({4}), 2, {.gain = -1}); }), "gain"));
  const auto xv = Var<float>::parameter(x);
  CHECK_THROWS_AS(bias_leaky_relu(xv, Var<float>::parameter(Tensor<float>::zeros({5})), -1), pixsyn::Error);
}

// ---------------------------------------------------------------------------------------------------
// Broadcasting arithmetic, reductions and shape ops (the existing ops)

TEST_CASE_TEMPLATE("elementwise: add, sub, mul, div broadcast like NumPy", T, float, double) {
  Philox gen{31};
  const std::vector<std::pair<Shape, Shape>> pairs{{{2, 3}, {3}}, {{2, 1, 4}, {3, 1}}, {{3, 1}, {1, 4}}, {{2, 3}, {}},
                                                   {{}, {2, 3}},  {{4}, {2, 3, 4}},    {{2, 3}, {2, 3}}};
  for (const auto& pair : pairs) {
    const Shape &sa = pair.first, &sb = pair.second;
    CAPTURE(sa);
    CAPTURE(sb);
    const auto a = Tensor<double>::randn(sa, gen);
    const auto b = add(Tensor<double>::rand(sb, gen), 0.5);
    const auto at = convert<T>(a);
    const auto bt = convert<T>(b);
    const auto ad = Tensor<double>::from(as_double(at), sa);
    const auto bd = Tensor<double>::from(as_double(bt), sb);
    const auto out = add(at, bt).shape();
    const double tol = std::is_same_v<T, float> ? 1e-6 : 1e-15;
    check_close(as_double(add(at, bt)), naive_broadcast(ad, bd, out, [](double p, double q) { return p + q; }), tol);
    check_close(as_double(sub(at, bt)), naive_broadcast(ad, bd, out, [](double p, double q) { return p - q; }), tol);
    check_close(as_double(mul(at, bt)), naive_broadcast(ad, bd, out, [](double p, double q) { return p * q; }), tol);
    check_close(as_double(div(at, bt)), naive_broadcast(ad, bd, out, [](double p, double q) { return p / q; }), tol);
  }
  CHECK(add(Tensor<T>::zeros({2, 1, 4}), Tensor<T>::zeros({3, 1})).shape() == Shape{2, 3, 4});
}

TEST_CASE("elementwise: binary ops pass first- and second-order gradcheck with broadcasting") {
  Philox gen{32};
  const std::vector<std::pair<Shape, Shape>> pairs{{{2, 3}, {3}}, {{2, 1, 4}, {3, 1}}, {{3, 1}, {1, 4}},
                                                   {{2, 3}, {}},  {{}, {2, 3}},        {{2, 3}, {2, 3}}};
  for (const auto& pair : pairs) {
    const Shape &sa = pair.first, &sb = pair.second;
    CAPTURE(sa);
    CAPTURE(sb);
    const auto a = Tensor<double>::randn(sa, gen);
    const auto b = away_from_zero(sb, gen, 0.5);  // a divisor away from zero
    check_gradients([](const Vars& v) { return add(v[0], v[1]); }, {a, b});
    check_gradients([](const Vars& v) { return sub(v[0], v[1]); }, {a, b});
    check_gradients([](const Vars& v) { return mul(v[0], v[1]); }, {a, b});
    check_gradients([](const Vars& v) { return div(v[0], v[1]); }, {a, b});
    check_gradients([](const Vars& v) { return div(v[1], v[0] * v[0] + 1.0); }, {a, b});
  }
}

TEST_CASE("elementwise: scalar forms, operators and neg") {
  Philox gen{33};
  const auto x = Tensor<double>::randn({2, 3}, gen);
  const auto v = x.to_vector();
  std::vector<double> e_add, e_mul, e_neg, e_div, e_rsub;
  for (double a : v) {
    e_add.push_back(a + 1.5);
    e_mul.push_back(a * -2.0);
    e_neg.push_back(-a);
    e_div.push_back(a / 4.0);
    e_rsub.push_back(a - 0.25);
  }
  check_close(add(x, 1.5).to_vector(), e_add);
  check_close((1.5 + x).to_vector(), e_add);
  check_close(mul(x, -2.0).to_vector(), e_mul);
  check_close((-2.0 * x).to_vector(), e_mul);
  check_close(neg(x).to_vector(), e_neg);
  check_close((-x).to_vector(), e_neg);
  check_close((x / 4.0).to_vector(), e_div);
  check_close((x - 0.25).to_vector(), e_rsub);
  check_gradients([](const Vars& a) { return add(a[0], 1.5); }, {x});
  check_gradients([](const Vars& a) { return mul(a[0], -2.0); }, {x});
  check_gradients([](const Vars& a) { return neg(a[0]); }, {x});
  check_gradients([](const Vars& a) { return (2.0 * a[0] - 1.0) / 3.0 + (-a[0]) * a[0]; }, {x});
}

TEST_CASE_TEMPLATE("elementwise: sum and mean over axes, with and without keepdim", T, float, double) {
  Philox gen{34};
  const auto xd = Tensor<double>::randn({2, 3, 4}, gen);
  const auto x = convert<T>(xd);
  // Reference: sum over axis 1 by loops.
  std::vector<double> s1(8, 0.0);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) s1[static_cast<std::size_t>(i * 4 + k)] += static_cast<double>(x.at({i, j, k}));
  const double tol = std::is_same_v<T, float> ? 1e-6 : 1e-14;
  CHECK(sum(x, {1}).shape() == Shape{2, 4});
  CHECK(sum(x, {1}, true).shape() == Shape{2, 1, 4});
  check_close(as_double(sum(x, {1})), s1, tol);
  check_close(as_double(sum(x, {-2}, true)), s1, tol);
  std::vector<double> m1;
  for (double s : s1) m1.push_back(s / 3);
  check_close(as_double(mean(x, {1})), m1, tol);
  double total = 0;
  for (double s : s1) total += s;
  CHECK(sum(x).shape() == Shape{});
  CHECK(sum(x).item() == doctest::Approx(total).epsilon(tol));
  CHECK(mean(x, {}, true).shape() == Shape{1, 1, 1});
  CHECK(mean(x, {}, true).item() == doctest::Approx(total / 24).epsilon(tol));
  CHECK(sum(x, {0, 2}).shape() == Shape{3});
  CHECK(mean(x, {2, 0}, true).shape() == Shape{1, 3, 1});
}

TEST_CASE("elementwise: reductions and shape ops pass first- and second-order gradcheck") {
  Philox gen{35};
  const auto x = Tensor<double>::randn({2, 3, 4}, gen);
  for (bool keepdim : {false, true}) {
    CAPTURE(keepdim);
    for (const Axes& axes : {Axes{}, Axes{0}, Axes{1}, Axes{-1}, Axes{0, 2}, Axes{0, 1, 2}}) {
      check_gradients([&](const Vars& v) { return sum(v[0], axes, keepdim); }, {x});
      check_gradients([&](const Vars& v) { return mean(v[0], axes, keepdim); }, {x});
      // Nonlinear around the reduction, so second derivatives are not trivially zero.
      check_gradients([&](const Vars& v) { return square(sum(mul(v[0], v[0]), axes, keepdim)); }, {x});
    }
  }
  const auto small = Tensor<double>::randn({3, 1}, gen);
  check_gradients([](const Vars& v) { return broadcast_to(v[0], {2, 3, 4}); }, {small});
  check_gradients([](const Vars& v) { return square(broadcast_to(v[0], {2, 3, 4})); }, {small});
  check_gradients([](const Vars& v) { return sum_to(v[0], {3, 1}); }, {x});
  check_gradients([](const Vars& v) { return sum_to(square(v[0]), {4}); }, {x});
  check_gradients([](const Vars& v) { return reshape(v[0], {4, 6}); }, {x});
  check_gradients([](const Vars& v) { return square(reshape(v[0], {6, 4})); }, {x});
}

TEST_CASE("elementwise: sum_to and broadcast_to are adjoint; values by hand") {
  const auto x = Tensor<double>::from({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(sum_to(x, {3}).to_vector() == std::vector<double>{5, 7, 9});
  CHECK(sum_to(x, {2, 1}).to_vector() == std::vector<double>{6, 15});
  CHECK(sum_to(x, {1, 3}).shape() == Shape{1, 3});
  CHECK(sum_to(x, {}).item() == 21);
  CHECK(broadcast_to(Tensor<double>::from({1, 2}, {2, 1}), {2, 3}).to_vector() ==
        std::vector<double>{1, 1, 1, 2, 2, 2});
  CHECK(broadcast_to(Tensor<double>::from({1, 2, 3}, {3}), {2, 3}).to_vector() ==
        std::vector<double>{1, 2, 3, 1, 2, 3});
  CHECK(reshape(x, {3, 2}).shape() == Shape{3, 2});
  CHECK(reshape(x, {3, 2}).to_vector() == x.to_vector());
}

TEST_CASE("elementwise: incompatible shapes and bad axes throw errors naming the op and shapes") {
  const auto a = Tensor<float>::zeros({2, 3});
  const auto b = Tensor<float>::zeros({4});
  for (const auto& [name, f] : std::vector<std::pair<std::string, std::function<void()>>>{
           {"add", [&] { add(a, b); }}, {"sub", [&] { sub(a, b); }}, {"mul", [&] { mul(a, b); }}, {"div", [&] {
                                                                                                     div(a, b);
                                                                                                   }}}) {
    const auto msg = error_of(f);
    CAPTURE(msg);
    CHECK(contains(msg, name));
    CHECK(contains(msg, "(2, 3)"));
    CHECK(contains(msg, "(4,)"));
  }
  CHECK_THROWS_AS(add(Tensor<float>::zeros({2, 1, 4}), Tensor<float>::zeros({3, 2})), pixsyn::Error);
  const auto av = Var<float>::parameter(a);
  CHECK(contains(error_of([&] { mul(av, Var<float>::parameter(b)); }), "mul"));

  std::string msg = error_of([&] { sum(a, {2}); });
  CHECK(contains(msg, "axis 2"));
  CHECK(contains(msg, "(2, 3)"));
  CHECK_THROWS_AS(sum(a, {-3}), pixsyn::Error);
  CHECK_THROWS_AS(mean(a, {5}), pixsyn::Error);
  CHECK_THROWS_AS(sum(av, {2}), pixsyn::Error);
  msg = error_of([&] { sum(a, {1, -1}); });
  CHECK(contains(msg, "twice"));
  CHECK(contains(error_of([&] { mean(Tensor<float>::zeros({0, 3}), {0}); }), "mean"));

  msg = error_of([&] { sum_to(a, {2}); });
  CHECK(contains(msg, "sum_to"));
  CHECK(contains(msg, "(2, 3)"));
  CHECK_THROWS_AS(sum_to(b, {2, 4}), pixsyn::Error);
  msg = error_of([&] { broadcast_to(a, {3, 3}); });
  CHECK(contains(msg, "broadcast_to"));
  CHECK(contains(msg, "(3, 3)"));
  CHECK_THROWS_AS(broadcast_to(a, {2, 1}), pixsyn::Error);  // would shrink an axis
  CHECK(contains(error_of([&] { reshape(a, {4, 2}); }), "reshape"));
}
