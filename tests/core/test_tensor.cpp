#include <doctest/doctest.h>

#include <pixsyn/core/tensor.hpp>
#include "support/errors.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>

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

TEST_CASE("sizes that overflow or exceed the memory are refused before any allocation") {
  const std::int64_t big = std::int64_t{1} << 62;
  CHECK_THROWS_WITH_AS((Shape{big, 4}.numel()),
                       doctest::Contains("Shape (4611686018427387904, 4) has more than 9223372036854775807"), Error);
  CHECK_THROWS_WITH_AS((Shape{3, big, 2, 5}.numel()), doctest::Contains("(2^63 - 1) elements"), Error);
  CHECK(Shape{big, big, 0}.numel() == 0);  // an empty shape has no elements, however large the others
  CHECK(Shape{big, 1}.numel() == big);
  CHECK_THROWS_WITH_AS((Shape{big}.bytes(4)),
                       doctest::Contains("Shape (4611686018427387904,) of 4-byte elements needs more than"), Error);
  CHECK(Shape{big}.bytes(1) == static_cast<std::size_t>(big));
  CHECK_THROWS_WITH_AS((Shape{2, big, 2}.strides()), doctest::Contains("stride of axis 0"), Error);

  // 2^62 floats are 2^64 bytes: the byte count itself overflows.
  CHECK_THROWS_WITH_AS(Tensor<float>::empty({big}),
                       doctest::Contains("Shape (4611686018427387904,) of 4-byte elements needs more than "
                                         "9223372036854775807 (2^63 - 1) bytes"),
                       Error);
  CHECK_THROWS_AS(Tensor<double>::zeros({big, 4}), Error);
  // 2^40 floats fit in a byte count but not in this machine's memory (4 TiB).
  const auto message = test::error_of([] { Tensor<float>::empty({std::int64_t{1} << 40}); });
  CHECK(test::contains(message,
                       "cannot allocate a tensor of shape (1099511627776,) and 4-byte elements: needs "
                       "4398046511104 bytes (4.0 TiB), more than the "));
  CHECK(test::contains(message, "of memory this machine has"));

  // Sizes from outside in views: no wrapping in the checks themselves.
  auto t = Tensor<float>::zeros({2, 3});
  CHECK_THROWS_WITH_AS(t.narrow(1, std::numeric_limits<std::int64_t>::max()), doctest::Contains("out of range"), Error);
  CHECK_THROWS_WITH_AS(t.reshape({big, 4, -1}), doctest::Contains("4611686018427387904 x 4 exceeds the limit"), Error);
  CHECK(detail::format_bytes(512) == "512 bytes");
  CHECK(detail::format_bytes(3 << 20) == "3145728 bytes (3.0 MiB)");
}

TEST_CASE("text from outside is escaped and shortened in messages") {
  CHECK(detail::printable("conv.weight") == "conv.weight");
  CHECK(detail::printable("a\x1b[31mb\n\x7f") == "a\\x1b[31mb\\x0a\\x7f");
  CHECK(detail::printable(std::string(100, 'k'), 8) == "kkkkkkkk...");
  CHECK(detail::printable("gr\xc3\xbc\xc3\x9f") == "gr\xc3\xbc\xc3\x9f");  // UTF-8 stays readable
}
