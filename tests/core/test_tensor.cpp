#include <doctest/doctest.h>

#include <pixsyn/core/tensor.hpp>

#include <cmath>
#include <sstream>

using namespace pixsyn;

TEST_CASE("Philox4x32-10 matches the Random123 known-answer vector") {
  const auto b = detail::philox4x32_10(0, 0);  // counter 0, key 0
  CHECK(b.v[0] == 0x6627e8d5u);
  CHECK(b.v[1] == 0xe169c58du);
  CHECK(b.v[2] == 0xbc57ac4cu);
  CHECK(b.v[3] == 0x9b00dbd8u);
}

TEST_CASE("randn and rand: seeded, offset-addressed, with the right moments") {
  Philox gen{42};
  const auto a = Tensor<double>::randn({10000}, gen);
  CHECK(gen.offset == 5000);
  const auto b = Tensor<double>::randn({10000}, Philox{42});
  CHECK(a.to_vector() == b.to_vector());
  // Drawing the second half from its offset gives the same numbers as the tail of one long draw.
  const auto tail = Tensor<double>::randn({5000}, Philox{42, 2500});
  for (int i = 0; i < 5000; ++i) CHECK(tail.data()[i] == a.data()[5000 + i]);
  double mean = 0, var = 0;
  for (double v : a.to_vector()) mean += v / 10000;
  for (double v : a.to_vector()) var += (v - mean) * (v - mean) / 10000;
  CHECK(std::abs(mean) < 0.05);
  CHECK(std::abs(var - 1) < 0.05);
  const auto f = Tensor<float>::randn({8}, Philox{42});
  for (int i = 0; i < 8; ++i) CHECK(f.data()[i] == static_cast<float>(a.data()[i]));
  const auto u = Tensor<float>::rand({4096}, Philox{7});
  for (float v : u.to_vector()) CHECK((v > 0 && v < 1));
  CHECK(Tensor<float>::randn({4}, Philox{1}).to_vector() != Tensor<float>::randn({4}, Philox{2}).to_vector());
}

TEST_CASE("construction, views and element access") {
  auto t = Tensor<float>::from({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(t.shape() == Shape{2, 3});
  CHECK(t.at({1, 2}) == 6);
  auto v = t.reshape({3, -1});
  CHECK(v.shape() == Shape{3, 2});
  CHECK(v.shares_storage_with(t));
  auto row = t.narrow(1, 1);
  CHECK(row.to_vector() == std::vector<float>{4, 5, 6});
  auto c = t.clone();
  c.at({0, 0}) = 9;
  CHECK(t.at({0, 0}) == 1);
  CHECK(Tensor<double>::zeros({2, 2}).to_vector() == std::vector<double>(4, 0.0));
  CHECK(Tensor<double>::full({3}, 2.5).to_vector() == std::vector<double>(3, 2.5));
  CHECK(Tensor<float>::scalar(3).item() == 3);
  std::ostringstream out;
  out << t;
  CHECK(out.str().find("shape (2, 3)") != std::string::npos);
}

TEST_CASE("bad shapes and indices give errors that name the problem") {
  auto t = Tensor<float>::zeros({2, 3});
  CHECK_THROWS_WITH_AS(Tensor<float>::from({1, 2, 3}, {2, 2}), doctest::Contains("do not fill shape (2, 2)"), Error);
  CHECK_THROWS_WITH_AS(t.reshape({4, 2}), doctest::Contains("cannot view shape (2, 3)"), Error);
  CHECK_THROWS_WITH_AS(t.reshape({-1, -1}), doctest::Contains("more than one extent is -1"), Error);
  CHECK_THROWS_WITH_AS(t.at({2, 0}), doctest::Contains("index 2 out of range"), Error);
  CHECK_THROWS_WITH_AS(t.item(), doctest::Contains("has 6 elements"), Error);
  CHECK_THROWS_WITH_AS(t.narrow(1, 5), doctest::Contains("out of range"), Error);
  CHECK_THROWS_WITH_AS((Shape{1, 2, 3, 4, 5, 6}), doctest::Contains("exceeds the maximum rank"), Error);
  CHECK_THROWS_WITH_AS(t.shape()[2], doctest::Contains("axis 2 is out of range for shape (2, 3)"), Error);
  CHECK_THROWS_AS(Shape({2, -1}), Error);
}
