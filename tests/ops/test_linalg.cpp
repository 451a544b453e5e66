#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include <pixsyn/autograd/functions/matmul.hpp>
#include <pixsyn/autograd/functions/modulated_fc.hpp>
#include <pixsyn/autograd/functions/permute.hpp>
#include <pixsyn/autograd/gradcheck.hpp>
#include <pixsyn/ops/matmul.hpp>
#include <pixsyn/ops/modulated_fc.hpp>
#include <pixsyn/ops/permute.hpp>

#include "support/errors.hpp"

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

TEST_CASE_TEMPLATE("linalg: the fused modulated_fc agrees with the composite Var path", T, float, double) {
  Philox gen{8};
  for (auto [batch, pixels, in, out] : std::vector<std::array<std::int64_t, 4>>{{2, 9, 16, 8}, {3, 300, 64, 48}}) {
    const auto x = Tensor<T>::randn({batch, pixels, in}, gen), w = Tensor<T>::randn({out, in}, gen);
    const auto s = Tensor<T>::randn({batch, in}, gen);
    for (bool demodulate : {true, false}) {
      CAPTURE(demodulate);
      const ModulatedFcOptions options{.demodulate = demodulate};
      const auto composite =
          modulated_fc(Var<T>::parameter(x), Var<T>::parameter(w), Var<T>::parameter(s), options).value();
      check_close(modulated_fc(x, w, s, options), composite, std::is_same_v<T, float> ? 1e-4 : 1e-12);
    }
  }
}

TEST_CASE("linalg: modulated_fc gradients to second order") {
  Philox gen{9};
  const auto x = Tensor<double>::randn({2, 3, 4}, gen), w = Tensor<double>::randn({3, 4}, gen);
  const auto s = add(Tensor<double>::rand({2, 4}, gen), 0.5);
  check_gradients([](const Vars& v) { return modulated_fc(v[0], v[1], v[2]); }, {x, w, s});
  check_gradients([](const Vars& v) { return modulated_fc(v[0], v[1], v[2], {.demodulate = false}); }, {x, w, s});
}

TEST_CASE("linalg: modulated_fc reports mismatched shapes") {
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
}
