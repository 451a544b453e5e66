#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <numbers>

#include <pixsyn/coords/axis_grid.hpp>

#include "support/errors.hpp"

using namespace pixsyn;
using pixsyn::test::contains;
using pixsyn::test::error_of;

TEST_CASE("axis_grid: the official CREPS grid is linspace(0, 1, n) per axis, any H x W") {
  const auto g = coords::axis_grid<float>(3, 5);
  CHECK(g.height() == 3);
  CHECK(g.width() == 5);
  CHECK(g.rows.to_vector() == std::vector<float>{0, 0.5f, 1});
  CHECK(g.cols.to_vector() == coords::linspace<float>(0, 1, 5).to_vector());
  const auto wide = coords::axis_grid<double>(2, 4, -1, 3);
  const std::vector<double> want{-1, 1.0 / 3, 5.0 / 3, 3};
  for (int j = 0; j < 4; ++j) CHECK(wide.cols.data()[j] == doctest::Approx(want[j]));
}

TEST_CASE("axis_grid: crop takes the rows and columns of a tile") {
  const auto g = coords::axis_grid<float>(6, 7);
  const auto t = coords::crop(g, 2, 3, 3, 4);
  CHECK(t.rows.to_vector() == std::vector<float>(g.rows.data() + 2, g.rows.data() + 5));
  CHECK(t.cols.to_vector() == std::vector<float>(g.cols.data() + 3, g.cols.data() + 7));
  CHECK(contains(error_of([&] { coords::crop(g, 4, 0, 3, 1); }), "fall outside the 6 x 7 grid"));
  CHECK(contains(error_of([&] { coords::crop(g, 0, 0, 0, 1); }), "h must be positive"));
}

TEST_CASE("axis_grid: separable maps act per axis, as on the grid's points") {
  const auto g = coords::axis_grid<double>(4, 3);
  const auto map = coords::compose(coords::zoom(2.0, 0.5, 0.25), coords::shift(0.1, -0.3));
  const auto moved = coords::transform(map, g);
  const auto points = coords::transform(map, coords::to_points(g));
  const auto again = coords::to_points(moved);
  REQUIRE(again.xy.shape() == points.xy.shape());
  for (std::int64_t i = 0; i < points.xy.numel(); ++i)
    CHECK(again.xy.data()[i] == doctest::Approx(points.xy.data()[i]));
  // Each axis on its own: a column shift leaves the rows alone.
  const auto shifted = coords::transform(coords::shift(0.25, 0.0), g);
  CHECK(shifted.rows.to_vector() == g.rows.to_vector());
  CHECK(shifted.cols.data()[0] == 0.25);
  CHECK(contains(error_of([&] { coords::transform(coords::rotation(0.3), g); }), "mixes x and y"));
}

TEST_CASE("axis_grid: to_points is row-major (x = column, y = row) and rejects bad vectors") {
  const auto g = coords::axis_grid<float>(2, 3);
  const auto p = coords::to_points(g);
  CHECK(p.height == 2);
  CHECK(p.width == 3);
  CHECK(p.xy.to_vector() == std::vector<float>{0, 0, 0.5f, 0, 1, 0, 0, 1, 0.5f, 1, 1, 1});
  auto bad = g;
  bad.cols = g.cols.clone();
  bad.cols.data()[1] = std::numeric_limits<float>::infinity();
  CHECK(contains(error_of([&] { coords::to_points(bad); }), "cols[1]"));
  CHECK(contains(error_of([&] { coords::axis_grid<float>(0, 3); }), "height must be positive"));
  CHECK(contains(error_of([&] { coords::axis_grid<float>(2, 3, 0, std::numeric_limits<float>::quiet_NaN()); }),
                 "must be finite"));
}
