#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <numbers>
#include <string>
#include <vector>

#include <pixsyn/coords/cylinder.hpp>
#include <pixsyn/coords/foveated.hpp>
#include <pixsyn/coords/grid.hpp>
#include <pixsyn/coords/transform.hpp>

#include "support/errors.hpp"

using namespace pixsyn;
using pixsyn::test::error_of;

namespace {

// The float32 tensor `name` of a safetensors file (header parsed here so this test needs only core).
Tensor<float> read_f32(const std::string& path, const std::string& name) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::uint64_t header_size = 0;
  in.read(reinterpret_cast<char*>(&header_size), 8);
  std::string header(header_size, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_size));
  const auto entry = nlohmann::json::parse(header).at(name);
  REQUIRE(entry.at("dtype") == "F32");
  const Shape shape(entry.at("shape").begin(), entry.at("shape").end());
  const auto begin = entry.at("data_offsets")[0].get<std::int64_t>();
  auto t = Tensor<float>::empty(shape);
  in.seekg(static_cast<std::streamoff>(8 + header_size) + begin);
  in.read(reinterpret_cast<char*>(t.data()), static_cast<std::streamsize>(t.numel() * sizeof(float)));
  REQUIRE(in.good());
  return t;
}

}  // namespace

TEST_CASE_TEMPLATE("linspace: hand values for small n", T, float, double) {
  CHECK(coords::linspace<T>(-1, 1, 1).to_vector() == std::vector<T>{-1});
  CHECK(coords::linspace<T>(-1, 1, 2).to_vector() == std::vector<T>{-1, 1});
  CHECK(coords::linspace<T>(-1, 1, 3).to_vector() == std::vector<T>{-1, 0, 1});
  CHECK(coords::linspace<T>(-1, 1, 5).to_vector() == std::vector<T>{-1, -0.5, 0, 0.5, 1});
  CHECK(coords::linspace<T>(0, 3, 4).to_vector() == std::vector<T>{0, 1, 2, 3});
}

TEST_CASE_TEMPLATE("linspace: n = 256 has exact endpoints, is nearly symmetric and within an ulp of i/255", T, float,
                   double) {
  const auto v = coords::linspace<T>(-1, 1, 256).to_vector();
  const double ulp = std::numeric_limits<T>::epsilon();
  CHECK(v.front() == T(-1));
  CHECK(v.back() == T(1));
  for (int i = 0; i < 256; ++i) {
    CHECK(std::abs(static_cast<double>(v[i]) - (-1.0 + 2.0 * i / 255.0)) <= ulp);
    CHECK(std::abs(static_cast<double>(v[i]) + static_cast<double>(v[255 - i])) <= ulp);
    if (i) CHECK(v[i - 1] < v[i]);
  }
  if constexpr (std::is_same_v<T, float>) {
    // torch.linspace(-1, 1, 256)[1] in float32
    CHECK(v[1] == -0.992156863212585449f);
  }
}

TEST_CASE("grid<float> matches the CIPS fixtures' torch.linspace coordinates bit for bit") {
  for (const char* name :
       {"skips_grid24x40", "residual_grid20x12", "skips_native16", "residual_native16", "skips_widths32"}) {
    INFO(name);
    const auto coords = read_f32(std::string(PIXSYN_SOURCE_DIR) + "/tests/fixtures/cips/" + name + ".safetensors",
                                 "fixture.coords");  // (B, 2, H, W)
    const std::int64_t h = coords.dim(2), w = coords.dim(3);
    const auto planes = coords::to_planes(coords::grid<float>(h, w));
    REQUIRE(planes.shape() == Shape{2, h, w});
    CHECK(std::memcmp(planes.data(), coords.data(), sizeof(float) * 2 * h * w) == 0);
  }
}

TEST_CASE_TEMPLATE("grid: layout, non-square shapes and row-major order", T, float, double) {
  const auto g = coords::grid<T>(3, 5);
  CHECK(g.height == 3);
  CHECK(g.width == 5);
  CHECK(g.is_grid());
  REQUIRE(g.xy.shape() == Shape{15, 2});
  const std::vector<T> xs{-1, -0.5, 0, 0.5, 1}, ys{-1, 0, 1};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 5; ++j) {
      CHECK(g.xy.at({i * 5 + j, 0}) == xs[j]);
      CHECK(g.xy.at({i * 5 + j, 1}) == ys[i]);
    }
  const auto planes = coords::to_planes(g);
  CHECK(planes.shape() == Shape{2, 3, 5});
  CHECK(planes.at({0, 2, 4}) == T(1));
  CHECK(planes.at({1, 2, 4}) == T(1));
  CHECK(planes.at({1, 0, 3}) == T(-1));

  const auto single = coords::grid<T>(1, 1);
  CHECK(single.xy.to_vector() == std::vector<T>{-1, -1});
}

TEST_CASE_TEMPLATE("grid_rect tiles equal slices of the full grid and reassemble it", T, float, double) {
  const auto full = coords::grid<T>(7, 9);
  auto assembled = Tensor<T>::full({63, 2}, T(5));
  // A 3 x 3 tiling with uneven tiles, including the bottom-right edge.
  const std::int64_t rows[] = {0, 3, 5, 7}, cols[] = {0, 4, 8, 9};
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) {
      const std::int64_t r0 = rows[a], c0 = cols[b], h = rows[a + 1] - r0, w = cols[b + 1] - c0;
      const auto tile = coords::grid_rect<T>(7, 9, r0, c0, h, w);
      CHECK(tile.height == h);
      CHECK(tile.width == w);
      for (std::int64_t i = 0; i < h; ++i)
        for (std::int64_t j = 0; j < w; ++j)
          for (std::int64_t c = 0; c < 2; ++c) {
            const T v = tile.xy.at({i * w + j, c});
            CHECK(v == full.xy.at({(r0 + i) * 9 + c0 + j, c}));
            assembled.at({(r0 + i) * 9 + c0 + j, c}) = v;
          }
    }
  CHECK(assembled.to_vector() == full.xy.to_vector());
  // Tiles of a grid large enough to use torch's vector blocks too.
  const auto big = coords::grid<T>(40, 70);
  const auto tile = coords::grid_rect<T>(40, 70, 17, 33, 5, 30);
  for (std::int64_t i = 0; i < 5; ++i)
    for (std::int64_t j = 0; j < 30; ++j) {
      CHECK(tile.xy.at({i * 30 + j, 0}) == big.xy.at({(17 + i) * 70 + 33 + j, 0}));
      CHECK(tile.xy.at({i * 30 + j, 1}) == big.xy.at({(17 + i) * 70 + 33 + j, 1}));
    }
}

TEST_CASE_TEMPLATE("dense_grid is the grid of the multiplied size over the same range", T, float, double) {
  const auto dense = coords::dense_grid<T>(3, 4, 4);
  const auto ref = coords::grid<T>(12, 16);
  CHECK(dense.height == 12);
  CHECK(dense.width == 16);
  CHECK(dense.xy.to_vector() == ref.xy.to_vector());
  CHECK(dense.xy.at({0, 0}) == T(-1));
  CHECK(dense.xy.at({12 * 16 - 1, 1}) == T(1));
  CHECK(coords::dense_grid<T>(5, 6, 1).xy.to_vector() == coords::grid<T>(5, 6).xy.to_vector());
}

TEST_CASE("grid functions reject bad sizes with the offending value") {
  CHECK_THROWS_AS(coords::grid(0, 3), pixsyn::Error);
  CHECK(error_of([] { coords::grid(3, -2); }).find("width must be positive, got -2") != std::string::npos);
  CHECK(error_of([] { coords::grid(-4, 3); }).find("height must be positive, got -4") != std::string::npos);
  CHECK_THROWS_AS(coords::linspace<float>(-1, 1, 0), pixsyn::Error);
  CHECK(error_of([] { coords::dense_grid(4, 4, 0); }).find("factor must be positive, got 0") != std::string::npos);
  const auto rect_error = error_of([] { coords::grid_rect(7, 9, 5, 4, 3, 2); });
  CHECK(rect_error.find("rows [5, 8)") != std::string::npos);
  CHECK(rect_error.find("7 x 9") != std::string::npos);
  CHECK_THROWS_AS(coords::grid_rect(7, 9, 0, 8, 1, 2), pixsyn::Error);
  CHECK_THROWS_AS(coords::grid_rect(7, 9, -1, 0, 1, 1), pixsyn::Error);
  CHECK_THROWS_AS(coords::grid_rect(7, 9, 0, 0, 0, 1), pixsyn::Error);
  CHECK_THROWS_AS(coords::to_planes(coords::PointSet<float>{Tensor<float>::zeros({4, 2})}), pixsyn::Error);
}

TEST_CASE("grid sizes whose point count overflows or exceeds the memory are refused before any allocation") {
  using pixsyn::test::contains;
  // Read through volatile: with the sizes as constants, GCC warns about overflow in loops that the
  // size checks never let run.
  volatile std::int64_t big_source = std::int64_t{1} << 62;
  const std::int64_t big = big_source, max = std::numeric_limits<std::int64_t>::max();
  CHECK(contains(error_of([&] { coords::grid(big, 4); }),
                 "coords::grid: a grid of 4611686018427387904 x 4 exceeds the limit of 9223372036854775807"));
  CHECK(contains(error_of([&] { coords::cylinder<float>(4, big, 1.f); }), "coords::cylinder: a grid of 4 x"));
  CHECK(contains(error_of([&] { coords::cylinder_xyz<float>(big, big); }), "coords::cylinder_xyz: a grid of"));
  CHECK(contains(error_of([&] { coords::foveated(big, 3, 0.5, {}, Philox{}); }), "coords::foveated: a grid of"));
  CHECK(contains(error_of([&] {
                   coords::fill_missing(Tensor<float>::zeros({1, 1}), Tensor<std::int64_t>::zeros({1}), big, big);
                 }),
                 "coords::fill_missing: a grid of"));
  CHECK(contains(error_of([&] { coords::dense_grid(big, 2, 4); }),
                 "coords::dense_grid: the height 4611686018427387904 x 4"));
  // Offsets whose sum overflows are outside the grid, and the message does not wrap either.
  CHECK(contains(error_of([&] { coords::grid_rect(8, 8, max, 0, max, 1); }),
                 "rows [9223372036854775807, 9223372036854775807 + 9223372036854775807)"));
  // A count that fits but whose coordinates do not fit in memory: 2^40 points of 2 floats.
  const auto huge = error_of([] { coords::grid(std::int64_t{1} << 20, std::int64_t{1} << 20); });
  CHECK(contains(huge, "cannot allocate a tensor of shape (1099511627776, 2)"));
  CHECK(contains(huge, "needs 8796093022208 bytes (8.0 TiB)"));
}

TEST_CASE_TEMPLATE("foveated: sample counts, valid distinct indices and matching points", T, float, double) {
  const coords::Fovea fovea{.x = 0.2, .y = -0.3, .sigma = 0.25};
  const auto full = coords::grid<T>(64, 64);
  for (const auto& [fraction, expected] : {std::pair{0.05, 205}, std::pair{0.25, 1024}, std::pair{0.5, 2048}}) {
    Philox gen{11};
    const auto s = coords::foveated<T>(64, 64, fraction, fovea, gen);
    CHECK(gen.offset == 1024);
    REQUIRE(s.indices.shape() == Shape{expected});
    REQUIRE(s.points.xy.shape() == Shape{expected, 2});
    CHECK_FALSE(s.points.is_grid());
    for (std::int64_t k = 0; k < expected; ++k) {
      const std::int64_t p = s.indices.data()[k];
      REQUIRE(p >= 0);
      REQUIRE(p < 4096);
      if (k) CHECK(s.indices.data()[k - 1] < p);  // ascending, hence distinct
      CHECK(s.points.xy.at({k, 0}) == full.xy.at({p, 0}));
      CHECK(s.points.xy.at({k, 1}) == full.xy.at({p, 1}));
    }
  }
  CHECK(coords::foveated<T>(64, 64, 1.0, fovea, Philox{3}).indices.numel() == 4096);
  CHECK(coords::foveated<T>(8, 8, 1e-6, fovea, Philox{3}).indices.numel() == 1);
}

TEST_CASE("foveated: deterministic from the Philox seed and offset") {
  const coords::Fovea fovea{.x = -0.4, .y = 0.1, .sigma = 0.3};
  const auto a = coords::foveated(64, 64, 0.25, fovea, Philox{42});
  const auto b = coords::foveated(64, 64, 0.25, fovea, Philox{42});
  const auto c = coords::foveated(64, 64, 0.25, fovea, Philox{43});
  const auto d = coords::foveated(64, 64, 0.25, fovea, Philox{42, 1024});
  CHECK(a.indices.to_vector() == b.indices.to_vector());
  CHECK(a.points.xy.to_vector() == b.points.xy.to_vector());
  CHECK(a.indices.to_vector() != c.indices.to_vector());
  CHECK(a.indices.to_vector() != d.indices.to_vector());
  // Two draws from one generator are the draws at consecutive offsets.
  Philox gen{42};
  coords::foveated(64, 64, 0.25, fovea, gen);
  CHECK(coords::foveated(64, 64, 0.25, fovea, gen).indices.to_vector() == d.indices.to_vector());
}

TEST_CASE("foveated: denser near the gaze point, periphery not empty") {
  const coords::Fovea fovea{.x = 0.5, .y = -0.5, .sigma = 0.2, .floor = 0.05};
  const auto full = coords::grid<double>(64, 64);
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const auto s = coords::foveated<double>(64, 64, 0.25, fovea, Philox{seed});
    std::vector<bool> chosen(4096, false);
    for (auto p : s.indices.to_vector()) chosen[p] = true;
    int near_total = 0, near_hit = 0, far_total = 0, far_hit = 0;
    for (int p = 0; p < 4096; ++p) {
      const double dx = full.xy.at({p, 0}) - fovea.x, dy = full.xy.at({p, 1}) - fovea.y;
      const double r = std::sqrt(dx * dx + dy * dy);
      if (r < 0.2) near_total++, near_hit += chosen[p];
      if (r > 1.0) far_total++, far_hit += chosen[p];
    }
    const double near = double(near_hit) / near_total, far = double(far_hit) / far_total;
    INFO("seed ", seed, ": near ", near, ", far ", far);
    // 25% of all pixels: about 0.9 of the fovea and 0.17 of the far periphery are chosen.
    CHECK(near > 0.75);
    CHECK(far < 0.3);
    CHECK(far > 0.05);
  }
}

TEST_CASE("foveated rejects bad arguments with the offending value") {
  const coords::Fovea fovea;
  CHECK(error_of([&] { coords::foveated(64, 64, 0.0, fovea, Philox{}); }).find("fraction must be in (0, 1], got 0") !=
        std::string::npos);
  CHECK(error_of([&] { coords::foveated(64, 64, 1.5, fovea, Philox{}); }).find("got 1.5") != std::string::npos);
  CHECK(error_of([&] { coords::foveated(64, 64, -0.1, fovea, Philox{}); }).find("got -0.1") != std::string::npos);
  CHECK(error_of([&] { coords::foveated(0, 64, 0.5, fovea, Philox{}); }).find("height must be positive, got 0") !=
        std::string::npos);
  CHECK_THROWS_AS(coords::foveated(64, 64, 0.5, coords::Fovea{.sigma = 0}, Philox{}), pixsyn::Error);
  CHECK_THROWS_AS(coords::foveated(64, 64, 0.5, coords::Fovea{.floor = -1}, Philox{}), pixsyn::Error);
}

TEST_CASE("fill_missing: a hand-made 3 x 4 case") {
  // Samples at (0, 0) and (2, 3); channel 1 holds 10x channel 0.
  const auto values = Tensor<float>::from({1, 2, 10, 20}, {2, 2});
  const auto indices = Tensor<std::int64_t>::from({0, 11}, {2});
  const auto img = coords::fill_missing(values, indices, 3, 4);
  REQUIRE(img.shape() == Shape{2, 3, 4});
  const std::vector<float> expected{1, 1, 1, 2,  //
                                    1, 1, 2, 2,  //
                                    1, 2, 2, 2};
  std::vector<float> both = expected;
  for (float v : expected) both.push_back(10 * v);
  CHECK(img.to_vector() == both);
}

TEST_CASE_TEMPLATE("fill_missing: sampled pixels unchanged, others take an exactly nearest sample", T, float, double) {
  for (const auto& size : {std::tuple{37, 23, 0.05}, std::tuple{16, 40, 0.3}, std::tuple{9, 1, 0.3},
                           std::tuple{1, 12, 0.2}, std::tuple{20, 20, 0.0025}}) {
    // Not structured bindings: INFO captures them in a lambda, which clang 14 cannot compile.
    const int h = std::get<0>(size), w = std::get<1>(size);
    const double fraction = std::get<2>(size);
    INFO(h, " x ", w, " at ", fraction);
    const auto s = coords::foveated<T>(h, w, fraction, coords::Fovea{.x = -0.3, .y = 0.6}, Philox{9});
    const std::int64_t count = s.indices.numel();
    auto values = Tensor<T>::empty({1, count});
    for (std::int64_t k = 0; k < count; ++k) values.data()[k] = static_cast<T>(k);  // value = which sample
    const auto img = coords::fill_missing(values, s.indices, h, w);
    for (std::int64_t k = 0; k < count; ++k) CHECK(img.data()[s.indices.data()[k]] == static_cast<T>(k));
    for (std::int64_t p = 0; p < h * w; ++p) {
      std::int64_t best = std::numeric_limits<std::int64_t>::max();
      for (std::int64_t k = 0; k < count; ++k) {
        const std::int64_t q = s.indices.data()[k], di = p / w - q / w, dj = p % w - q % w;
        best = std::min(best, di * di + dj * dj);
      }
      const auto source = static_cast<std::int64_t>(img.data()[p]);
      const std::int64_t q = s.indices.data()[source], di = p / w - q / w, dj = p % w - q % w;
      CHECK(di * di + dj * dj == best);
    }
  }
}

TEST_CASE("fill_missing rejects bad arguments") {
  const auto values = Tensor<float>::zeros({3, 2});
  CHECK(error_of([&] {
          coords::fill_missing(values, Tensor<std::int64_t>::from({0, 12}, {2}), 3, 4);
        }).find("index 12") != std::string::npos);
  CHECK(error_of([&] {
          coords::fill_missing(values, Tensor<std::int64_t>::from({5, 5}, {2}), 3, 4);
        }).find("appears twice") != std::string::npos);
  CHECK_THROWS_AS(coords::fill_missing(values, Tensor<std::int64_t>::from({0, 1, 2}, {3}), 3, 4), pixsyn::Error);
  CHECK_THROWS_AS(coords::fill_missing(Tensor<float>::zeros({3, 0}), Tensor<std::int64_t>::zeros({0}), 3, 4),
                  pixsyn::Error);
  CHECK(error_of([&] {
          coords::fill_missing(values, Tensor<std::int64_t>::from({0, 1}, {2}), 3, 0);
        }).find("width must be positive, got 0") != std::string::npos);
}

TEST_CASE_TEMPLATE("cylinder: x spans one period, y is the grid's", T, float, double) {
  const auto c = coords::cylinder<T>(3, 8, T(4));
  CHECK(c.height == 3);
  CHECK(c.width == 8);
  REQUIRE(c.xy.shape() == Shape{24, 2});
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 8; ++j) {
      CHECK(c.xy.at({i * 8 + j, 0}) == T(0.5) * T(j));
      CHECK(c.xy.at({i * 8 + j, 1}) == coords::grid<T>(3, 8).xy.at({i * 8 + j, 1}));
    }
  // Across the seam: the next column after the last is x_period, one period past column 0.
  CHECK(T(4) - c.xy.at({7, 0}) == c.xy.at({1, 0}) - c.xy.at({0, 0}));
  CHECK(error_of([] { coords::cylinder<float>(3, 8, -1.f); }).find("x_period must be positive, got -1") !=
        std::string::npos);
  CHECK_THROWS_AS(coords::cylinder<float>(3, 0, 1.f), pixsyn::Error);
}

TEST_CASE_TEMPLATE("cylinder_xyz wraps: the seam neighbours are as far apart as interior neighbours", T, float,
                   double) {
  const std::int64_t h = 4, w = 36;
  const auto c = coords::cylinder_xyz<T>(h, w);
  REQUIRE(c.xy.shape() == Shape{h * w, 3});
  CHECK(c.height == h);
  CHECK(c.width == w);
  const double tol = 10 * std::numeric_limits<T>::epsilon();
  const auto dist = [&](std::int64_t p, std::int64_t q) {
    double s = 0;
    for (std::int64_t k = 0; k < 3; ++k) {
      const double d = static_cast<double>(c.xy.at({p, k})) - static_cast<double>(c.xy.at({q, k}));
      s += d * d;
    }
    return std::sqrt(s);
  };
  const double chord = 2 * std::sin(std::numbers::pi / w);
  for (std::int64_t i = 0; i < h; ++i) {
    for (std::int64_t j = 0; j + 1 < w; ++j) CHECK(std::abs(dist(i * w + j, i * w + j + 1) - chord) < tol);
    CHECK(std::abs(dist(i * w + w - 1, i * w) - chord) < tol);
    CHECK(c.xy.at({i * w, 0}) == T(1));
    CHECK(c.xy.at({i * w, 1}) == T(0));
    CHECK(c.xy.at({i * w + 5, 2}) == coords::linspace<T>(-1, 1, h).data()[i]);
    for (std::int64_t j = 0; j < w; ++j) {
      const double x = c.xy.at({i * w + j, 0}), y = c.xy.at({i * w + j, 1});
      CHECK(std::abs(x * x + y * y - 1) < tol);
    }
  }
  CHECK_THROWS_AS(coords::cylinder_xyz<float>(-1, 3), pixsyn::Error);
}

TEST_CASE_TEMPLATE("transforms: shift, scale, zoom, rotation, compose", T, float, double) {
  const auto g = coords::grid<T>(3, 5);
  const double tol = 4 * std::numeric_limits<T>::epsilon();

  const auto shifted = coords::transform(coords::shift<T>(T(0.5), T(-2)), g);
  CHECK(shifted.height == 3);
  CHECK(shifted.width == 5);
  for (std::int64_t p = 0; p < 15; ++p) {
    CHECK(shifted.xy.at({p, 0}) == g.xy.at({p, 0}) + T(0.5));
    CHECK(shifted.xy.at({p, 1}) == g.xy.at({p, 1}) - T(2));
  }

  // zoom(2) magnifies: the grid now covers [-0.5, 0.5]; around (1, 1) the corner stays put.
  const auto zoomed = coords::transform(coords::zoom<T>(T(2)), g);
  CHECK(zoomed.xy.at({0, 0}) == T(-0.5));
  CHECK(zoomed.xy.at({14, 1}) == T(0.5));
  const auto corner = coords::transform(coords::zoom<T>(T(2), T(1), T(1)), g);
  CHECK(corner.xy.at({14, 0}) == T(1));
  CHECK(corner.xy.at({14, 1}) == T(1));
  CHECK(corner.xy.at({0, 0}) == T(0));
  const auto scaled = coords::transform(coords::scale<T>(T(3)), g);
  CHECK(scaled.xy.at({1, 0}) == T(-1.5));

  // A quarter turn maps (1, 0) to (0, 1); about (1, 1) the centre is fixed.
  const auto quarter = coords::rotation<T>(static_cast<T>(std::numbers::pi / 2));
  coords::PointSet<T> pts{Tensor<T>::from({1, 0, 0, 1, 1, 1}, {3, 2})};
  const auto turned = coords::transform(quarter, pts).xy.to_vector();
  const std::vector<double> want{0, 1, -1, 0, -1, 1};
  for (int k = 0; k < 6; ++k) CHECK(std::abs(turned[k] - want[k]) < tol);
  const auto about = coords::transform(coords::rotation<T>(T(0.7), T(1), T(1)), pts).xy;
  CHECK(std::abs(about.at({2, 0}) - T(1)) < tol);
  CHECK(std::abs(about.at({2, 1}) - T(1)) < tol);

  // compose(f, g) applies g first.
  const auto f = coords::rotation<T>(T(0.3), T(0.2), T(-0.1));
  const auto h = coords::compose(coords::shift<T>(T(0.25), T(0.5)), coords::zoom<T>(T(1.5)));
  const auto once = coords::transform(coords::compose(f, h), g).xy.to_vector();
  const auto twice = coords::transform(f, coords::transform(h, g)).xy.to_vector();
  for (std::size_t k = 0; k < once.size(); ++k) CHECK(std::abs(once[k] - twice[k]) < tol);
  // Rotation keeps distances.
  const auto r = coords::transform(f, g);
  const auto d = [](const Tensor<T>& xy, std::int64_t p, std::int64_t q) {
    return std::hypot(double(xy.at({p, 0}) - xy.at({q, 0})), double(xy.at({p, 1}) - xy.at({q, 1})));
  };
  CHECK(std::abs(d(r.xy, 0, 14) - d(g.xy, 0, 14)) < tol);
}

TEST_CASE("transforms reject bad arguments") {
  CHECK(error_of([] { coords::zoom(0.f); }).find("factor must be positive, got 0") != std::string::npos);
  CHECK_THROWS_AS(coords::zoom(-2.f), pixsyn::Error);
  CHECK_THROWS_AS(coords::scale(0.0), pixsyn::Error);
  CHECK_THROWS_AS(coords::rotation(std::numeric_limits<double>::infinity()), pixsyn::Error);
  const auto error = error_of([] { coords::transform(coords::Affine<float>{}, coords::cylinder_xyz(2, 3)); });
  CHECK(error.find("(6, 3)") != std::string::npos);
}
