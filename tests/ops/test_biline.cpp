#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include <pixsyn/autograd/functions/biline.hpp>
#include <pixsyn/autograd/gradcheck.hpp>
#include <pixsyn/ops/biline.hpp>

#include "support/errors.hpp"

using namespace pixsyn;
using pixsyn::test::contains;
using pixsyn::test::error_of;

namespace {

Tensor<std::int64_t> indices(std::vector<std::int64_t> values) {
  const auto n = static_cast<std::int64_t>(values.size());
  return Tensor<std::int64_t>::from(values, {n});
}

// out[b, p, k] = Σ_d u[b, rows[p], d, k] v[b, cols[p], d, k], straight from the definition.
Tensor<double> naive_compose(const Tensor<double>& u, const Tensor<double>& v, const Tensor<std::int64_t>& rows,
                             const Tensor<std::int64_t>& cols) {
  const std::int64_t batch = u.dim(0), thickness = u.dim(2), channels = u.dim(3), points = rows.numel();
  auto out = Tensor<double>::zeros({batch, points, channels});
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t p = 0; p < points; ++p)
      for (std::int64_t k = 0; k < channels; ++k)
        for (std::int64_t d = 0; d < thickness; ++d)
          out.at({b, p, k}) += u.at({b, rows.data()[p], d, k}) * v.at({b, cols.data()[p], d, k});
  return out;
}

}  // namespace

TEST_CASE("biline_compose: grid pairs, diagonal pairs and repeats match the definition") {
  Philox gen{3};
  const auto u = Tensor<double>::randn({2, 4, 3, 5}, gen);
  const auto v = Tensor<double>::randn({2, 6, 3, 5}, gen);
  std::vector<std::int64_t> gi, gj;  // every (row, column) pair of the 4 x 6 grid
  for (std::int64_t i = 0; i < 4; ++i)
    for (std::int64_t j = 0; j < 6; ++j) gi.push_back(i), gj.push_back(j);
  for (const auto& [rows, cols] :
       {std::pair{indices(gi), indices(gj)}, std::pair{indices({0, 1, 2, 3}), indices({0, 1, 2, 3})},
        std::pair{indices({3, 3, 0}), indices({5, 5, 2})}}) {
    const auto want = naive_compose(u, v, rows, cols);
    const auto got = biline_compose(u, v, rows, cols);
    REQUIRE(got.shape() == want.shape());
    for (std::int64_t i = 0; i < want.numel(); ++i)
      CHECK(got.data()[i] == doctest::Approx(want.data()[i]).epsilon(1e-14));
    // The Var composite computes the same values.
    const auto var = biline_compose(Var<double>(u), Var<double>(v), rows, cols).value();
    for (std::int64_t i = 0; i < want.numel(); ++i)
      CHECK(var.data()[i] == doctest::Approx(want.data()[i]).epsilon(1e-14));
  }
}

TEST_CASE("biline_compose: large float inputs (threaded) equal the composite") {
  Philox gen{4};
  const auto u = Tensor<float>::randn({2, 64, 8, 32}, gen);
  const auto v = Tensor<float>::randn({2, 48, 8, 32}, gen);
  std::vector<std::int64_t> gi, gj;
  for (std::int64_t i = 0; i < 64; ++i)
    for (std::int64_t j = 0; j < 48; ++j) gi.push_back(i), gj.push_back(j);
  const auto got = biline_compose(u, v, indices(gi), indices(gj));
  const auto composite = biline_compose(Var<float>(u), Var<float>(v), indices(gi), indices(gj)).value();
  REQUIRE(got.shape() == Shape{2, 64 * 48, 32});
  for (std::int64_t i = 0; i < got.numel(); ++i)
    CHECK(got.data()[i] == doctest::Approx(composite.data()[i]).epsilon(1e-5));
}

TEST_CASE("biline_compose: first- and second-order gradients in both embeddings") {
  Philox gen{5};
  const auto u = Tensor<double>::randn({2, 3, 2, 4}, gen);
  const auto v = Tensor<double>::randn({2, 4, 2, 4}, gen);
  const auto rows = indices({0, 2, 2, 1, 0});  // repeated rows and columns accumulate
  const auto cols = indices({3, 0, 1, 1, 3});
  const auto result = autograd::gradcheck(
      [&](const std::vector<Var<double>>& x) { return biline_compose(x[0], x[1], rows, cols); }, {u, v});
  INFO(result.message);
  CHECK(result.ok);
}

TEST_CASE("biline_compose: mismatched shapes and bad indices are named") {
  const auto u = Tensor<float>::zeros({1, 3, 2, 4});
  const auto v = Tensor<float>::zeros({1, 5, 2, 4});
  CHECK(contains(error_of([&] {
                   biline_compose(u, Tensor<float>::zeros({1, 5, 3, 4}), indices({0}), indices({0}));
                 }),
                 "differ in batch, thickness or channels"));
  CHECK(contains(error_of([&] {
                   biline_compose(u, Tensor<float>::zeros({5, 2, 4}), indices({0}), indices({0}));
                 }),
                 "(B, H, D, K)"));
  CHECK(contains(error_of([&] { biline_compose(u, v, indices({0, 1}), indices({0})); }), "one length"));
  CHECK(contains(error_of([&] { biline_compose(u, v, indices({3}), indices({0})); }), "index[0] = 3"));
  CHECK(contains(error_of([&] { biline_compose(u, v, indices({0}), indices({-1})); }), "(columns)"));
}
