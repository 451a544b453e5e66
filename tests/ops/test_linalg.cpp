#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include <pixsyn/autograd/functions/activation.hpp>
#include <pixsyn/autograd/functions/matmul.hpp>
#include <pixsyn/autograd/functions/modulated_fc.hpp>
#include <pixsyn/autograd/functions/permute.hpp>
#include <pixsyn/autograd/gradcheck.hpp>
#include <pixsyn/ops/matmul.hpp>
#include <pixsyn/ops/modulated_fc.hpp>
#include <pixsyn/ops/permute.hpp>

#include "support/errors.hpp"
#include "support/graph_bytes.hpp"

using namespace pixsyn;
using pixsyn::test::error_of;

namespace {

using Vars = std::vector<Var<double>>;

// c[b] = a[b] (m, k) × b[b or 0] (k, n), straight from the definition.
Tensor<double> naive_matmul(const Tensor<double>& a, const Tensor<double>& b) {
  const bool batched = a.rank() == 3;
  const std::int64_t batch = batched ? a.dim(0) : 1, m = a.dim(-2), k = a.dim(-1), n = b.dim(-1);
  const bool shared = b.rank() == 2;
  Tensor<double> c(batched ? Shape{batch, m, n} : Shape{m, n});
  for (std::int64_t q = 0; q < batch; ++q)
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (std::int64_t l = 0; l < k; ++l)
          acc += a.data()[(q * m + i) * k + l] * b.data()[((shared ? 0 : q) * k + l) * n + j];
        c.data()[(q * m + i) * n + j] = acc;
      }
  return c;
}

Tensor<double> naive_modulated_fc(const Tensor<double>& x, const Tensor<double>& w, const Tensor<double>& s,
                                  bool demodulate, double eps) {
  const std::int64_t batch = x.dim(0), pixels = x.dim(1), in = x.dim(2), out = w.dim(0);
  Tensor<double> y({batch, pixels, out});
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t o = 0; o < out; ++o) {
      double norm = 0;
      for (std::int64_t i = 0; i < in; ++i) norm += std::pow(w.at({o, i}) * s.at({b, i}), 2);
      const double d = demodulate ? 1 / std::sqrt(norm + eps) : 1.0;
      for (std::int64_t p = 0; p < pixels; ++p) {
        double acc = 0;
        for (std::int64_t i = 0; i < in; ++i) acc += w.at({o, i}) * s.at({b, i}) * x.at({b, p, i});
        y.at({b, p, o}) = d * acc;
      }
    }
  return y;
}

template <class T>
void check_close(const Tensor<T>& actual, const Tensor<T>& expected, double tol) {
  REQUIRE(actual.shape() == expected.shape());
  for (std::int64_t i = 0; i < actual.numel(); ++i) {
    INFO("element ", i);
    CHECK(std::abs(double(actual.data()[i]) - double(expected.data()[i])) <= tol * (1 + std::abs(expected.data()[i])));
  }
}

void check_gradients(const autograd::GradFunction& f, const std::vector<Tensor<double>>& inputs) {
  const auto result = autograd::gradcheck(f, inputs);
  INFO(result.message);
  CHECK(result.ok);
}

}  // namespace

TEST_CASE("linalg: matmul matches a naive loop in all three forms") {
  Philox gen{1};
  // Not a structured binding: CAPTURE is a lambda, which clang 14 cannot give one.
  for (const auto& shapes : std::vector<std::pair<Shape, Shape>>{{{5, 7}, {7, 3}},
                                                                 {{4, 6, 5}, {4, 5, 9}},
                                                                 {{3, 6, 5}, {5, 4}},
                                                                 {{2, 1, 3}, {2, 3, 1}},
                                                                 {{70, 40}, {40, 90}}}) {
    const Shape &a_shape = shapes.first, &b_shape = shapes.second;
    CAPTURE(a_shape);
    CAPTURE(b_shape);
    const auto a = Tensor<double>::randn(a_shape, gen), b = Tensor<double>::randn(b_shape, gen);
    check_close(matmul(a, b), naive_matmul(a, b), 1e-12);
  }
}

TEST_CASE("linalg: matmul with an empty inner dimension gives zeros") {
  const auto c = matmul(Tensor<float>({3, 0}), Tensor<float>({0, 2}));
  CHECK(c.shape() == Shape{3, 2});
  CHECK(c.to_vector() == std::vector<float>(6, 0.0f));
}

TEST_CASE("linalg: matmul reports mismatched shapes") {
  const auto msg = error_of([] { matmul(Tensor<float>({2, 3}), Tensor<float>({4, 5})); });
  CHECK(msg.find("matmul: inner dimensions differ") != std::string::npos);
  CHECK(msg.find("(2, 3)") != std::string::npos);
  CHECK(msg.find("(4, 5)") != std::string::npos);
  CHECK(error_of([] {
          matmul(Tensor<float>({2, 3, 4}), Tensor<float>({3, 4, 5}));
        }).find("batch sizes differ") != std::string::npos);
  CHECK(error_of([] {
          matmul(Tensor<float>({2, 3}), Tensor<float>({2, 3, 4}));
        }).find("matmul: expects") != std::string::npos);
  CHECK_THROWS_AS(matmul(Tensor<float>({3}), Tensor<float>({3})), Error);
  CHECK_THROWS_AS(matmul(Var<float>(Tensor<float>({2, 3, 4})), Var<float>(Tensor<float>({2, 5, 4}))), Error);
}

TEST_CASE("linalg: matmul gradients to second order") {
  Philox gen{2};
  const auto f = [](const Vars& v) { return matmul(v[0], v[1]); };
  SUBCASE("plain") { check_gradients(f, {Tensor<double>::randn({3, 4}, gen), Tensor<double>::randn({4, 2}, gen)}); }
  SUBCASE("batched") {
    check_gradients(f, {Tensor<double>::randn({2, 3, 4}, gen), Tensor<double>::randn({2, 4, 2}, gen)});
  }
  SUBCASE("shared right operand") {
    check_gradients(f, {Tensor<double>::randn({2, 3, 4}, gen), Tensor<double>::randn({4, 2}, gen)});
  }
  SUBCASE("one operand constant") {
    const auto c = Tensor<double>::randn({2, 3, 4}, gen);
    check_gradients([c](const Vars& v) { return matmul(Var<double>(c), v[0]); }, {Tensor<double>::randn({4, 2}, gen)});
    check_gradients([c](const Vars& v) { return matmul(v[0], Var<double>(transpose(c))); },
                    {Tensor<double>::randn({2, 3, 4}, gen)});
  }
  SUBCASE("a product of products, so second derivatives are not trivially zero") {
    check_gradients([](const Vars& v) { return matmul(matmul(v[0], v[1]), transpose(v[1])); },
                    {Tensor<double>::randn({2, 3, 4}, gen), Tensor<double>::randn({4, 2}, gen)});
  }
}

TEST_CASE("linalg: permute and transpose move elements like their definition") {
  Philox gen{3};
  const auto x = Tensor<double>::randn({2, 3, 4, 5}, gen);
  const auto y = permute(x, {2, 0, 3, 1});
  REQUIRE(y.shape() == Shape{4, 2, 5, 3});
  for (std::int64_t a = 0; a < 2; ++a)
    for (std::int64_t b = 0; b < 3; ++b)
      for (std::int64_t c = 0; c < 4; ++c)
        for (std::int64_t d = 0; d < 5; ++d) CHECK(y.at({c, a, d, b}) == x.at({a, b, c, d}));
  CHECK(permute(x, {-4, -3, -2, -1}).to_vector() == x.to_vector());

  const auto z = Tensor<double>::randn({2, 1, 3, 2, 2}, gen);
  const auto zp = permute(z, {4, 2, 0, 3, 1});
  REQUIRE(zp.shape() == Shape{2, 3, 2, 2, 1});
  CHECK(zp.at({1, 2, 0, 1, 0}) == z.at({0, 0, 2, 1, 1}));

  // Swapping the last two axes takes the blocked path; sizes beyond a tile exercise its edges.
  const auto m = Tensor<double>::randn({3, 37, 45}, gen);
  const auto mt = transpose(m);
  REQUIRE(mt.shape() == Shape{3, 45, 37});
  bool same = true;
  for (std::int64_t b = 0; b < 3; ++b)
    for (std::int64_t i = 0; i < 37; ++i)
      for (std::int64_t j = 0; j < 45; ++j) same = same && mt.at({b, j, i}) == m.at({b, i, j});
  CHECK(same);
  const auto t02 = transpose(m, 0, 2);
  REQUIRE(t02.shape() == Shape{45, 37, 3});
  CHECK(t02.at({44, 5, 2}) == m.at({2, 5, 44}));
}

TEST_CASE("linalg: permute and transpose report bad axes") {
  const Tensor<float> x({2, 3, 4});
  const auto msg = error_of([&] { permute(x, {0, 1}); });
  CHECK(msg.find("permute: axes {0, 1} do not list the 3 axes of shape (2, 3, 4)") != std::string::npos);
  CHECK(error_of([&] { permute(x, {0, 1, 1}); }).find("appears twice") != std::string::npos);
  CHECK(error_of([&] { permute(x, {0, 1, 3}); }).find("out of range") != std::string::npos);
  CHECK(error_of([] { transpose(Tensor<float>({3})); }).find("transpose: axes -2 and -1") != std::string::npos);
  CHECK_THROWS_AS(transpose(x, 0, 3), Error);
  CHECK_THROWS_AS(permute(Var<float>(x), {2, 2, 0}), Error);
}

TEST_CASE("linalg: permute and transpose gradients to second order") {
  Philox gen{4};
  const auto x = Tensor<double>::randn({2, 3, 4}, gen);
  // Squares make the second derivative non-zero, so the inverse permutation is checked twice.
  check_gradients([](const Vars& v) { return permute(mul(v[0], v[0]), {1, 2, 0}); }, {x});
  check_gradients([](const Vars& v) { return transpose(mul(v[0], v[0]), 0, 2); }, {x});
  check_gradients([](const Vars& v) { return transpose(mul(v[0], v[0])); }, {x});
}

TEST_CASE("linalg: linear matches a naive loop, with and without bias") {
  Philox gen{5};
  const auto x = Tensor<double>::randn({2, 3, 5}, gen);
  const auto w = Tensor<double>::randn({4, 5}, gen);
  const auto b = Tensor<double>::randn({4}, gen);
  const auto y = linear(x, w, b), y0 = linear(x, w);
  REQUIRE(y.shape() == Shape{2, 3, 4});
  for (std::int64_t p = 0; p < 2; ++p)
    for (std::int64_t q = 0; q < 3; ++q)
      for (std::int64_t o = 0; o < 4; ++o) {
        double acc = 0;
        for (std::int64_t i = 0; i < 5; ++i) acc += x.at({p, q, i}) * w.at({o, i});
        CHECK(y0.at({p, q, o}) == doctest::Approx(acc).epsilon(1e-12));
        CHECK(y.at({p, q, o}) == doctest::Approx(acc + b.at({o})).epsilon(1e-12));
      }
  const auto v = linear(Tensor<double>::from({1, 2}, {2}), Tensor<double>::from({1, 0, 3, -1, 0.5, 2}, {3, 2}),
                        Tensor<double>::from({10, 20, 30}, {3}));
  CHECK(v.shape() == Shape{3});
  CHECK(v.to_vector() == std::vector<double>{11, 21, 34.5});
}

TEST_CASE("linalg: linear reports mismatched shapes") {
  CHECK(error_of([] {
          linear(Tensor<float>({2, 5}), Tensor<float>({4, 3}));
        }).find("linear: input (2, 5) does not end in the weight's in = 3") != std::string::npos);
  CHECK(error_of([] {
          linear(Tensor<float>({2, 3}), Tensor<float>({4, 3}), Tensor<float>({3}));
        }).find("linear: bias (3,) does not match the weight's out = 4") != std::string::npos);
  CHECK(error_of([] {
          linear(Tensor<float>({2, 3}), Tensor<float>({3}));
        }).find("weight must be (out, in)") != std::string::npos);
  CHECK_THROWS_AS(linear(Var<float>(Tensor<float>({2, 5})), Var<float>(Tensor<float>({4, 3}))), Error);
}

TEST_CASE("linalg: linear gradients to second order") {
  Philox gen{6};
  const auto x = Tensor<double>::randn({2, 3, 4}, gen), w = Tensor<double>::randn({3, 4}, gen);
  const auto b = Tensor<double>::randn({3}, gen);
  // The square makes second derivatives in every input non-zero.
  check_gradients([](const Vars& v) { return linear(mul(v[0], v[0]), v[1], v[2]); }, {x, w, b});
  check_gradients([](const Vars& v) { return linear(mul(v[0], v[0]), v[1]); }, {x, w});
  check_gradients([](const Vars& v) { return linear(v[0], v[1]); }, {Tensor<double>::randn({4}, gen), w});
  check_gradients([x](const Vars& v) { return linear(Var<double>(x), mul(v[0], v[0]), v[1]); }, {w, b});
}

TEST_CASE("linalg: modulated_fc matches a naive loop in double") {
  Philox gen{7};
  const auto x = Tensor<double>::randn({3, 5, 6}, gen), w = Tensor<double>::randn({4, 6}, gen);
  const auto s = Tensor<double>::randn({3, 6}, gen);
  check_close(modulated_fc(x, w, s), naive_modulated_fc(x, w, s, true, 1e-8), 1e-12);
  check_close(modulated_fc(x, w, s, {.demodulate = false}), naive_modulated_fc(x, w, s, false, 1e-8), 1e-12);
  // A large eps shows it is added inside the rsqrt.
  check_close(modulated_fc(x, w, s, {.eps = 2.5}), naive_modulated_fc(x, w, s, true, 2.5), 1e-12);
}

// modulated_fc composed of elementary Var ops, as it was before it became one node: the reference for the
// fused node's gradients.
template <class T>
Var<T> composite_modulated_fc(const Var<T>& x, const Var<T>& w, const Var<T>& s, const ModulatedFcOptions& options) {
  const std::int64_t batch = x.dim(0), in = x.dim(2), out = w.dim(0);
  const Var<T> y = matmul(mul(x, reshape(s, Shape{batch, 1, in})), transpose(w));
  if (!options.demodulate) return y;
  const Var<T> d = rsqrt(add(matmul(square(s), transpose(square(w))), static_cast<T>(options.eps)));
  return mul(y, reshape(d, Shape{batch, 1, out}));
}

TEST_CASE_TEMPLATE("linalg: modulated_fc and styled_fc on Var: the Tensor values, the composite's gradients", T, float,
                   double) {
  Philox gen{8};
  const double tol = std::is_same_v<T, float> ? 1e-4 : 1e-12;
  // x (1, P, I) is shared by the batch.
  for (auto [batch, x_batch, pixels, in, out] :
       std::vector<std::array<std::int64_t, 5>>{{2, 2, 9, 16, 8}, {3, 3, 300, 64, 48}, {3, 1, 40, 16, 8}}) {
    CAPTURE(x_batch);
    const auto x = Tensor<T>::randn({x_batch, pixels, in}, gen), w = Tensor<T>::randn({out, in}, gen);
    const auto s = Tensor<T>::randn({batch, in}, gen), g = Tensor<T>::randn({batch, pixels, out}, gen);
    const auto noise = Tensor<T>::randn({batch, pixels, 1}, gen), noise_weight = Tensor<T>::randn({1}, gen);
    const auto bias = Tensor<T>::randn({out}, gen);
    for (bool demodulate : {true, false}) {
      CAPTURE(demodulate);
      const StyledFcOptions options{.fc = {.demodulate = demodulate}, .activation = {.slope = 0.2, .gain = 1.5}};
      std::vector<Var<T>> v;
      for (const auto& t : {x, w, s, noise_weight, bias}) v.push_back(Var<T>::parameter(t));
      const Var<T> fused = modulated_fc(v[0], v[1], v[2], options.fc);
      const Var<T> styled = styled_fc(v[0], v[1], v[2], noise, v[3], v[4], options);
      const auto xb = broadcast_to(x, Shape{batch, pixels, in});
      check_close(fused.value(), modulated_fc(xb, w, s, options.fc), 0);
      check_close(styled.value(), styled_fc(xb, w, s, noise, noise_weight, bias, options), 0);
      const Var<T> composite =
          composite_modulated_fc(broadcast_to(v[0], Shape{batch, pixels, in}), v[1], v[2], options.fc);
      const Var<T> composite_styled =
          bias_leaky_relu(add(composite, mul(Var<T>(noise), v[3])), v[4], -1, options.activation);
      const std::vector<Var<T>> fc_inputs{v[0], v[1], v[2]}, seed{Var<T>(g)};
      const auto want = autograd::grad(std::vector<Var<T>>{composite}, fc_inputs, {}, seed);
      const auto got = autograd::grad(std::vector<Var<T>>{fused}, fc_inputs, {}, seed);
      const auto want_styled = autograd::grad(std::vector<Var<T>>{composite_styled}, v, {}, seed);
      const auto got_styled = autograd::grad(std::vector<Var<T>>{styled}, v, {}, seed);
      for (std::size_t k = 0; k < v.size(); ++k) {
        CAPTURE(k);
        if (k < 3) check_close(got[k].value(), want[k].value(), tol);
        check_close(got_styled[k].value(), want_styled[k].value(), tol);
      }
    }
  }
}

TEST_CASE("linalg: modulated_fc and styled_fc gradients to second order") {
  Philox gen{9};
  const auto x = Tensor<double>::randn({2, 3, 4}, gen), w = Tensor<double>::randn({3, 4}, gen);
  const auto s = add(Tensor<double>::rand({2, 4}, gen), 0.5);
  check_gradients([](const Vars& v) { return modulated_fc(v[0], v[1], v[2]); }, {x, w, s});
  check_gradients([](const Vars& v) { return modulated_fc(v[0], v[1], v[2], {.demodulate = false}); }, {x, w, s});
  check_gradients([](const Vars& v) { return square(modulated_fc(v[0], v[1], v[2])); },
                  {Tensor<double>::randn({1, 3, 4}, gen), w, s});
  // The layer is piecewise linear in x, the bias and the noise weight: the squares make their second
  // derivatives non-zero.
  const auto noise = Tensor<double>::randn({2, 3, 1}, gen);
  const auto noise_weight = Tensor<double>::randn({1}, gen), bias = Tensor<double>::randn({3}, gen);
  for (double clamp : {-1.0, 0.5}) {
    CAPTURE(clamp);
    const StyledFcOptions options{.activation = {.slope = 0.2, .gain = std::sqrt(2.0), .clamp = clamp}};
    check_gradients(
        [&](const Vars& v) { return square(styled_fc(mul(v[0], v[0]), v[1], v[2], noise, v[3], v[4], options)); },
        {x, w, s, noise_weight, bias});
    check_gradients([&](const Vars& v) { return square(styled_fc(v[0], v[1], v[2], {}, {}, v[3], options)); },
                    {x, w, s, bias});
  }
}

TEST_CASE("linalg: modulated_fc and styled_fc keep only their output in the graph") {
  // Every recorded node keeps its value while the graph lives: a layer of elementary ops would keep x ∘ s,
  // the product and the demodulated product (and the sum before the activation), each (B, P, ·).
  Philox gen{10};
  const std::int64_t batch = 2, pixels = 512, in = 16, out = 16;
  const auto output_bytes = std::int64_t(sizeof(double)) * batch * pixels * out;
  const Var<double> x = Var<double>::parameter(Tensor<double>::randn({batch, pixels, in}, gen));
  const Var<double> w = Var<double>::parameter(Tensor<double>::randn({out, in}, gen));
  const Var<double> s = Var<double>::parameter(Tensor<double>::randn({batch, in}, gen));
  const Var<double> noise_weight = Var<double>::parameter(Tensor<double>::randn({1}, gen));
  const Var<double> bias = Var<double>::parameter(Tensor<double>::randn({out}, gen));
  const auto noise = Tensor<double>::randn({batch, pixels, 1}, gen);
  CHECK(test::graph_bytes(modulated_fc(x, w, s)) == output_bytes);
  // The noise (B, P, 1) is kept too, for the noise weight's gradient.
  CHECK(test::graph_bytes(styled_fc(x, w, s, noise, noise_weight, bias)) == output_bytes + output_bytes / out);
  CHECK(test::graph_bytes(composite_modulated_fc(x, w, s, {})) >= 3 * output_bytes);
}

TEST_CASE("linalg: modulated_fc and styled_fc report mismatched shapes") {
  const Tensor<float> x({2, 5, 4}), w({3, 4}), s({2, 4});
  CHECK(error_of([&] {
          modulated_fc(x, Tensor<float>({3, 5}), s);
        }).find("modulated_fc: weight (3, 5) takes 5 input channels but x (2, 5, 4) has 4") != std::string::npos);
  CHECK(error_of([&] {
          modulated_fc(x, w, Tensor<float>({3, 4}));
        }).find("modulated_fc: styles (3, 4) do not match x (2, 5, 4)") != std::string::npos);
  CHECK(error_of([&] {
          modulated_fc(Tensor<float>({10, 4}), w, s);
        }).find("modulated_fc: expects x (B, P, I)") != std::string::npos);
  CHECK_THROWS_AS(modulated_fc(Var<float>(x), Var<float>(w), Var<float>(Tensor<float>({2, 3}))), Error);
  const Tensor<float> bias({3}), noise_weight({1});
  CHECK(error_of([&] {
          styled_fc(x, w, s, Tensor<float>({2, 4, 1}), noise_weight, bias);
        }).find("styled_fc: noise (2, 4, 1) does not match the layer's (2, 5) points") != std::string::npos);
  CHECK(error_of([&] {
          styled_fc(Var<float>(x), Var<float>(w), Var<float>(s), Tensor<float>({2, 5, 1}), Var<float>(),
                    Var<float>(bias));
        }).find("styled_fc: noise is given without a noise weight") != std::string::npos);
}
