#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pixsyn/autograd/functions/grid_sample.hpp"
#include "pixsyn/autograd/functions/layout.hpp"
#include "pixsyn/autograd/gradcheck.hpp"
#include "pixsyn/ops/grid_sample.hpp"
#include "pixsyn/ops/layout.hpp"
#include "support/errors.hpp"

using namespace pixsyn;
using pixsyn::test::error_of;
using Vars = std::vector<Var<double>>;
using Index = Tensor<std::int64_t>;

namespace {

Tensor<double> iota(const Shape& shape) {
  auto t = Tensor<double>::empty(shape);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<double>(i);
  return t;
}

void check_gradients(const autograd::GradFunction& f, const std::vector<Tensor<double>>& inputs) {
  const auto result = autograd::gradcheck(f, inputs);
  INFO(result.message);
  CHECK(result.ok);
}

}  // namespace

TEST_CASE("layout: concat joins along any axis and its gradient slices") {
  const auto a = iota({2, 2}), b = add(iota({2, 3}), 10.0);
  CHECK(concat(std::vector{a, b}, 1).to_vector() == std::vector<double>{0, 1, 10, 11, 12, 2, 3, 13, 14, 15});
  CHECK(concat(std::vector{a, a}, -2).shape() == Shape{4, 2});
  CHECK(concat(std::vector{a, a}, 0).to_vector() == std::vector<double>{0, 1, 2, 3, 0, 1, 2, 3});

  // Large enough for the parallel path: compare with a loop.
  Philox gen{3};
  const auto big1 = Tensor<double>::randn({64, 300, 3}, gen), big2 = Tensor<double>::randn({64, 200, 3}, gen);
  const auto big = concat(std::vector{big1, big2}, 1);
  bool same = true;
  for (std::int64_t i = 0; i < 64; ++i)
    for (std::int64_t j = 0; j < 500; ++j)
      for (std::int64_t k = 0; k < 3; ++k)
        same = same && big.at({i, j, k}) == (j < 300 ? big1.at({i, j, k}) : big2.at({i, j - 300, k}));
  CHECK(same);

  check_gradients(
      [](const Vars& v) {
        return concat(Vars{v[0], v[1] * v[1], v[2]}, 1);
      },
      {Tensor<double>::randn({2, 1, 3}, gen), Tensor<double>::randn({2, 2, 3}, gen),
       Tensor<double>::randn({2, 3, 3}, gen)});
  // A constant part gets no gradient; the others still do.
  check_gradients(
      [c = Var<double>(b)](const Vars& v) {
        return concat(Vars{c, v[0] * v[0]}, -1);
      },
      {Tensor<double>::randn({2, 4}, gen)});
}

TEST_CASE("layout: concat rejects empty lists, mismatched shapes and bad axes") {
  CHECK_THROWS_AS(concat(std::vector<Tensor<double>>{}, 0), Error);
  const auto msg = error_of([] { concat(std::vector{iota({2, 3}), iota({3, 3})}, 1); });
  CHECK(msg.find("concat: part 1 has shape (3, 3)") != std::string::npos);
  CHECK_THROWS_AS(concat(std::vector{iota({2, 3}), iota({2, 3, 1})}, 0), Error);
  CHECK(error_of([] {
          concat(std::vector{iota({2, 3})}, 2);
        }).find("concat: axis 2 is out of range for shape (2, 3)") != std::string::npos);
  CHECK_THROWS_AS(concat(std::vector{Tensor<double>::scalar(1)}, 0), Error);
}

TEST_CASE("layout: slice takes half-open ranges with negative indices") {
  const auto x = iota({3, 4});
  CHECK(slice(x, 1, 1, 3).to_vector() == std::vector<double>{1, 2, 5, 6, 9, 10});
  CHECK(slice(x, 0, -1, 3).to_vector() == std::vector<double>{8, 9, 10, 11});
  CHECK(slice(x, -1, -3, -1).to_vector() == std::vector<double>{1, 2, 5, 6, 9, 10});
  CHECK(slice(x, 1, 2, 2).shape() == Shape{3, 0});

  const auto msg = error_of([&] { slice(x, 1, 2, 5); });
  CHECK(msg.find("slice: range [2, 5) is out of range for axis 1 of extent 4") != std::string::npos);
  CHECK_THROWS_AS(slice(x, 1, 3, 2), Error);
  CHECK_THROWS_AS(slice(x, 0, -4, 2), Error);
  CHECK(error_of([&] { slice(x, -3, 0, 1); }).find("slice: axis -3 is out of range for shape (3, 4)") !=
        std::string::npos);
  CHECK_THROWS_AS(slice(Tensor<double>::scalar(1), 0, 0, 1), Error);

  Philox gen{5};
  check_gradients([](const Vars& v) { return slice(v[0] * v[0], 1, 1, -1); }, {Tensor<double>::randn({2, 5, 3}, gen)});
  check_gradients([](const Vars& v) { return slice(v[0] * v[0], -3, 0, 1); }, {Tensor<double>::randn({2, 5, 3}, gen)});
}

TEST_CASE("layout: pad_slice embeds into zeros and is the adjoint of slice") {
  const auto g = add(iota({2, 2}), 1.0);
  CHECK(pad_slice(g, 1, 1, 4).to_vector() == std::vector<double>{0, 1, 2, 0, 0, 3, 4, 0});
  CHECK(pad_slice(g, 0, -2, 3).to_vector() == std::vector<double>{0, 0, 1, 2, 3, 4});
  // <slice(x), g> = <x, pad_slice(g)>
  Philox gen{8};
  const auto x = Tensor<double>::randn({3, 6}, gen), gy = Tensor<double>::randn({3, 2}, gen);
  CHECK(sum(mul(slice(x, 1, 3, 5), gy)).item() == doctest::Approx(sum(mul(x, pad_slice(gy, 1, 3, 6))).item()));

  CHECK(error_of([&] {
          pad_slice(g, 1, 3, 4);
        }).find("pad_slice: 2 entries at start 3 do not fit an axis of extent 4") != std::string::npos);
  CHECK_THROWS_AS(pad_slice(g, 1, -5, 4), Error);
  CHECK_THROWS_AS(pad_slice(g, 3, 0, 4), Error);

  check_gradients([](const Vars& v) { return pad_slice(v[0] * v[0], 1, 2, 6); }, {Tensor<double>::randn({2, 3}, gen)});
}

TEST_CASE("layout: index_select gathers and index_add scatter-adds, repeated indices included") {
  const auto x = iota({2, 3});
  const auto idx = Index::from({2, 0, 2, 1}, {4});
  CHECK(index_select(x, 1, idx).to_vector() == std::vector<double>{2, 0, 2, 1, 5, 3, 5, 4});
  CHECK(index_select(x, 0, Index::from({1}, {1})).to_vector() == std::vector<double>{3, 4, 5});
  const auto g = add(iota({2, 4}), 1.0);  // [[1 2 3 4] [5 6 7 8]]
  CHECK(index_add(g, -1, idx, 3).to_vector() == std::vector<double>{2, 4, 4, 6, 8, 12});

  // Adjoint identity, on a size that takes the parallel path.
  Philox gen{9};
  const auto big = Tensor<double>::randn({40, 100, 20}, gen);
  std::vector<std::int64_t> entries;
  for (int i = 0; i < 150; ++i) entries.push_back((i * 37) % 100);
  const auto big_idx = Index::from(entries, {150});
  const auto gb = Tensor<double>::randn({40, 150, 20}, gen);
  const auto selected = index_select(big, 1, big_idx);
  CHECK(selected.at({7, 3, 11}) == big.at({7, entries[3], 11}));
  CHECK(sum(mul(selected, gb)).item() == doctest::Approx(sum(mul(big, index_add(gb, 1, big_idx, 100))).item()));

  check_gradients([idx](const Vars& v) { return index_select(v[0] * v[0], 1, idx); },
                  {Tensor<double>::randn({2, 3, 2}, gen)});
  check_gradients([idx](const Vars& v) { return index_add(v[0] * v[0], 0, idx, 3); },
                  {Tensor<double>::randn({4, 2}, gen)});
}

TEST_CASE("layout: index_select and index_add name the bad index") {
  const auto x = iota({2, 3});
  const auto msg = error_of([&] { index_select(x, 1, Index::from({0, 3}, {2})); });
  CHECK(msg.find("index_select: index[1] = 3 is out of range [0, 3) for axis 1") != std::string::npos);
  CHECK(error_of([&] { index_select(x, 0, Index::from({-1}, {1})); }).find("index[0] = -1") != std::string::npos);
  CHECK(error_of([&] { index_select(x, 0, Index::from({0, 1}, {1, 2})); }).find("must be 1-D") != std::string::npos);
  CHECK(error_of([&] { index_select(x, 2, Index::from({0}, {1})); }).find("index_select: axis 2 is out of range") !=
        std::string::npos);
  CHECK_THROWS_AS(index_add(x, -3, Index::from({0}, {1}), 1), Error);

  CHECK(error_of([&] {
          index_add(x, 1, Index::from({0, 1}, {2}), 3);
        }).find("does not match axis 1") != std::string::npos);
  CHECK(error_of([&] {
          index_add(x, 1, Index::from({0, 1, 4}, {3}), 4);
        }).find("index[2] = 4 is out of range [0, 4)") != std::string::npos);
}

TEST_CASE("layout: clamp limits values and passes gradients only strictly inside") {
  const auto x = Tensor<double>::from({-2, -1, 0, 0.5, 1, 3}, {6});
  CHECK(clamp(x, -1, 1).to_vector() == std::vector<double>{-1, -1, 0, 0.5, 1, 1});
  auto v = Var<double>::parameter(x);
  autograd::backward(sum(clamp(v, -1, 1)));
  CHECK(v.grad().value().to_vector() == std::vector<double>{0, 0, 1, 1, 0, 0});
  CHECK(error_of([&] { clamp(x, 1, -1); }).find("clamp: lower bound 1 exceeds upper bound -1") != std::string::npos);

  // Points away from the bounds, so finite differences see the same piece.
  const auto xs = Tensor<double>::from({-1.7, -0.4, 0.3, 0.9, 1.6, 2.2}, {2, 3});
  check_gradients([](const Vars& v) { return mul(clamp(v[0] * v[0], 0.2, 2.0), v[0]); }, {xs});
}

TEST_CASE("layout: floor rounds down and is a constant for autograd") {
  const auto x = Tensor<double>::from({-1.5, -1, 0.2, 2.9}, {4});
  CHECK(floor(x).to_vector() == std::vector<double>{-2, -1, 0, 2});
  const auto v = Var<double>::parameter(x);
  const auto f = floor(v);
  CHECK(!f.requires_grad());
  CHECK(f.value().to_vector() == std::vector<double>{-2, -1, 0, 2});
  // d/dx (x - floor(x)) = 1 away from integers, to second order too.
  check_gradients([](const Vars& v) { return mul(sub(v[0], floor(v[0])), v[0]); },
                  {Tensor<double>::from({-1.3, 0.4, 2.7}, {3})});
}

// ---- grid_sample --------------------------------------------------------------------------------------

namespace {

// A minimal safetensors reader (F64 only) for the PyTorch fixture.
std::map<std::string, Tensor<double>> read_f64_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  unsigned char len_bytes[8];
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  std::uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = header_len << 8 | len_bytes[i];
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  const std::vector<char> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::map<std::string, Tensor<double>> tensors;
  const auto json = nlohmann::json::parse(header);
  for (auto it = json.begin(); it != json.end(); ++it) {
    const std::string& key = it.key();
    const nlohmann::json& info = it.value();
    if (key == "__metadata__") continue;
    REQUIRE(info.at("dtype").get<std::string>() == "F64");
    const auto dims = info.at("shape").get<std::vector<std::int64_t>>();
    const auto begin = info.at("data_offsets")[0].get<std::size_t>(),
               end = info.at("data_offsets")[1].get<std::size_t>();
    auto t = Tensor<double>::empty(Shape(dims.begin(), dims.end()));
    REQUIRE(end - begin == static_cast<std::size_t>(t.numel()) * sizeof(double));
    REQUIRE(end <= data.size());
    std::memcpy(t.data(), data.data() + begin, end - begin);
    tensors.emplace(key, t);
  }
  return tensors;
}

// Straight from the formulas, one output element at a time.
Tensor<double> naive_grid_sample(const Tensor<double>& input, const Tensor<double>& grid, GridSampleOptions o) {
  const std::int64_t N = input.dim(0), C = input.dim(1), H = input.dim(2), W = input.dim(3);
  const std::int64_t Ho = grid.dim(1), Wo = grid.dim(2);
  Tensor<double> out({N, C, Ho, Wo});
  auto source = [&](double g, std::int64_t n) {
    double i = o.align_corners ? (g + 1) / 2 * (n - 1) : ((g + 1) * n - 1) / 2;
    if (o.padding == Padding::border) i = std::min(std::max(i, 0.0), double(n - 1));
    return i;
  };
  for (std::int64_t b = 0; b < N; ++b)
    for (std::int64_t r = 0; r < Ho; ++r)
      for (std::int64_t q = 0; q < Wo; ++q) {
        const double ix = source(grid.at({b, r, q, 0}), W), iy = source(grid.at({b, r, q, 1}), H);
        const double x0 = std::floor(ix), y0 = std::floor(iy);
        for (std::int64_t c = 0; c < C; ++c) {
          double v = 0;
          for (double yc : {y0, y0 + 1})
            for (double xc : {x0, x0 + 1}) {
              if (xc < 0 || xc > W - 1 || yc < 0 || yc > H - 1) continue;
              const double w = (1 - std::abs(ix - xc)) * (1 - std::abs(iy - yc));
              v += w * input.at({b, c, static_cast<std::int64_t>(yc), static_cast<std::int64_t>(xc)});
            }
          out.at({b, c, r, q}) = v;
        }
      }
  return out;
}

double max_abs_diff(const Tensor<double>& a, const Tensor<double>& b) {
  REQUIRE(a.shape() == b.shape());
  double m = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a.data()[i] - b.data()[i]));
  return m;
}

const GridSampleOptions all_options[] = {
    {false, Padding::border}, {false, Padding::zeros}, {true, Padding::border}, {true, Padding::zeros}};

// A grid whose source indices have integer parts in [-1, size - 1] and fractional parts in [0.2, 0.8]:
// away from pixel centres (where the bilinear weights kink) and from the clamp bounds, so finite
// differences are valid; both paddings see taps outside the image.
Tensor<double> safe_grid(std::int64_t N, std::int64_t Ho, std::int64_t Wo, std::int64_t H, std::int64_t W,
                         bool align_corners, Philox& gen) {
  const auto u = Tensor<double>::rand({N, Ho, Wo, 2}, gen), v = Tensor<double>::rand({N, Ho, Wo, 2}, gen);
  auto grid = Tensor<double>::empty(u.shape());
  for (std::int64_t i = 0; i < grid.numel(); ++i) {
    const std::int64_t n = i % 2 == 0 ? W : H;
    const double index = std::floor(u.data()[i] * double(n + 1)) - 1 + 0.2 + 0.6 * v.data()[i];
    grid.data()[i] = align_corners ? 2 * index / double(n - 1) - 1 : (2 * index + 1) / double(n) - 1;
  }
  return grid;
}

}  // namespace

TEST_CASE("layout: grid_sample matches PyTorch's reference outputs") {
  const std::string path = std::string(PIXSYN_SOURCE_DIR) + "/tests/fixtures/ops/grid_sample.safetensors";
  if (!std::filesystem::exists(path)) {
    MESSAGE("fixture " << path << " is missing: comparison with PyTorch skipped");
    return;
  }
  const auto f = read_f64_safetensors(path);
  const auto &input = f.at("input"), &grid = f.at("grid");
  const char* keys[] = {"out.ac0.border", "out.ac0.zeros", "out.ac1.border", "out.ac1.zeros"};
  for (int k = 0; k < 4; ++k) {
    CAPTURE(keys[k]);
    CHECK(max_abs_diff(grid_sample(input, grid, all_options[k]), f.at(keys[k])) <= 1e-12);
    CHECK(max_abs_diff(naive_grid_sample(input, grid, all_options[k]), f.at(keys[k])) <= 1e-12);
    const auto v = grid_sample(Var<double>(input), Var<double>(grid), all_options[k]);
    CHECK(max_abs_diff(v.value(), f.at(keys[k])) <= 1e-12);
  }
}

TEST_CASE("layout: grid_sample kernel, Var path and a naive loop agree") {
  Philox gen{21};
  // Large enough for the parallel kernel; the grid reaches past the edges.
  const auto input = Tensor<double>::randn({2, 8, 16, 12}, gen);
  const auto grid = add(mul(Tensor<double>::rand({2, 40, 30, 2}, gen), 2.6), -1.3);
  for (const auto& o : all_options) {
    CAPTURE(o.align_corners);
    CAPTURE(static_cast<int>(o.padding));
    const auto fast = grid_sample(input, grid, o);
    CHECK(fast.shape() == Shape{2, 8, 40, 30});
    CHECK(max_abs_diff(fast, naive_grid_sample(input, grid, o)) <= 1e-12);
    CHECK(max_abs_diff(fast, grid_sample(Var<double>(input), Var<double>(grid), o).value()) <= 1e-12);
  }
  // Default options are CIPS's: align_corners = false, border padding.
  CHECK(max_abs_diff(grid_sample(input, grid), grid_sample(input, grid, {false, Padding::border})) == 0);
  // The float kernel follows the double one.
  auto to_float = [](const Tensor<double>& t) {
    auto f = Tensor<float>::empty(t.shape());
    for (std::int64_t i = 0; i < t.numel(); ++i) f.data()[i] = static_cast<float>(t.data()[i]);
    return f;
  };
  const auto fast_f = grid_sample(to_float(input), to_float(grid));
  const auto var_f = grid_sample(Var<float>(to_float(input)), Var<float>(to_float(grid))).value();
  const auto ref = grid_sample(input, grid);
  double err = 0, err_var = 0;
  for (std::int64_t i = 0; i < ref.numel(); ++i) {
    err = std::max(err, std::abs(double(fast_f.data()[i]) - ref.data()[i]));
    err_var = std::max(err_var, std::abs(double(var_f.data()[i]) - ref.data()[i]));
  }
  CHECK(err < 1e-5);
  CHECK(err_var < 1e-5);
  // Sampling at pixel centres with align_corners = true reproduces the input.
  auto identity = Tensor<double>::empty({2, 16, 12, 2});
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t r = 0; r < 16; ++r)
      for (std::int64_t q = 0; q < 12; ++q) {
        identity.at({b, r, q, 0}) = 2.0 * q / 11 - 1;
        identity.at({b, r, q, 1}) = 2.0 * r / 15 - 1;
      }
  CHECK(max_abs_diff(grid_sample(input, identity, {true, Padding::zeros}), input) <= 1e-12);
}

TEST_CASE("layout: grid_sample is twice differentiable in input and grid") {
  Philox gen{33};
  for (const auto& o : all_options) {
    CAPTURE(o.align_corners);
    CAPTURE(static_cast<int>(o.padding));
    const auto input = Tensor<double>::randn({2, 3, 4, 5}, gen);
    const auto grid = safe_grid(2, 3, 2, 4, 5, o.align_corners, gen);
    check_gradients([o](const Vars& v) { return grid_sample(v[0], v[1], o); }, {input, grid});
    // Products make every second derivative (input-input, grid-grid, mixed) nonzero.
    check_gradients([o](const Vars& v) { return grid_sample(v[0] * v[0], v[1] * 1.0, o) * v[2]; },
                    {input, grid, Tensor<double>::randn({2, 3, 3, 2}, gen)});
  }
  // One differentiable side only.
  const auto input = Tensor<double>::randn({1, 2, 3, 3}, gen);
  const auto grid = safe_grid(1, 2, 2, 3, 3, false, gen);
  check_gradients([grid](const Vars& v) { return grid_sample(v[0], Var<double>(grid)); }, {input});
  check_gradients([input](const Vars& v) { return grid_sample(Var<double>(input), v[0]); }, {grid});
}

TEST_CASE("layout: grid_sample_adjoint is grid_sample's adjoint and its input gradient with the grid fixed") {
  Philox gen{34};
  const auto input = Tensor<double>::randn({2, 5, 9, 7}, gen);
  // Past the edges, and many points per pixel: the adjoint sums them.
  const auto grid = add(mul(Tensor<double>::rand({2, 30, 20, 2}, gen), 2.6), -1.3);
  const auto g = Tensor<double>::randn({2, 5, 30, 20}, gen);
  for (const auto& o : all_options) {
    CAPTURE(o.align_corners);
    CAPTURE(static_cast<int>(o.padding));
    const auto adjoint = grid_sample_adjoint(g, grid, 9, 7, o);
    REQUIRE(adjoint.shape() == input.shape());
    // <S x, g> = <x, Sᵀ g>
    CHECK(sum(mul(grid_sample(input, grid, o), g)).item() ==
          doctest::Approx(sum(mul(input, adjoint)).item()).epsilon(1e-12));
    // The same gradient as the composite path, which a grid that takes a gradient goes through.
    const auto x = Var<double>::parameter(input);
    CHECK(max_abs_diff(
              autograd::grad(sum(mul(grid_sample(x, Var<double>(grid), o), Var<double>(g))), x).value(),
              autograd::grad(sum(mul(grid_sample(x, Var<double>::parameter(grid), o), Var<double>(g))), x).value()) <=
          1e-12);
    // Products make the second derivatives nonzero.
    const auto small = safe_grid(2, 3, 2, 4, 5, o.align_corners, gen);
    check_gradients([o, small](const Vars& v) { return grid_sample(v[0] * v[0], Var<double>(small), o) * v[1]; },
                    {Tensor<double>::randn({2, 3, 4, 5}, gen), Tensor<double>::randn({2, 3, 3, 2}, gen)});
  }
  CHECK(error_of([&] { grid_sample_adjoint(g, grid, 9, 7); }).empty());
  CHECK(error_of([&] {
          grid_sample_adjoint(Tensor<double>::zeros({2, 5, 30, 21}), grid, 9, 7);
        }).find("grid_sample_adjoint: the gradient (2, 5, 30, 21) does not match the grid (2, 30, 20, 2)") !=
        std::string::npos);
}

TEST_CASE("layout: grid_sample rejects bad shapes") {
  const auto input = Tensor<double>::zeros({2, 3, 4, 5});
  CHECK(error_of([&] {
          grid_sample(input, Tensor<double>::zeros({2, 3, 3, 3}));
        }).find("grid_sample: grid must be (N, Ho, Wo, 2), got (2, 3, 3, 3)") != std::string::npos);
  CHECK(error_of([&] {
          grid_sample(input, Tensor<double>::zeros({1, 3, 3, 2}));
        }).find("differ in batch size") != std::string::npos);
  CHECK(error_of([&] {
          grid_sample(Tensor<double>::zeros({3, 4, 5}), Tensor<double>::zeros({3, 3, 3, 2}));
        }).find("input must be (N, C, H, W)") != std::string::npos);
  CHECK_THROWS_AS(grid_sample(Var<double>(input), Var<double>(Tensor<double>::zeros({2, 3, 3}))), Error);
}
