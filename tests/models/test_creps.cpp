#include <doctest/doctest.h>

#include <pixsyn/autograd/backward.hpp>
#include <pixsyn/coords/axis_grid.hpp>
#include <pixsyn/coords/grid.hpp>
#include <pixsyn/models/creps.hpp>
#include <pixsyn/render/tiled_creps.hpp>

#include "support/cips_fixtures.hpp"
#include "support/creps_fixtures.hpp"
#include "support/errors.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

using namespace pixsyn;
using namespace pixsyn::test;

namespace {

// (B, 3, H, W) pixel (i, j) of every sample as (B, 3).
Tensor<float> pixel(const Tensor<float>& img, std::int64_t i, std::int64_t j) {
  auto out = Tensor<float>::empty({img.dim(0), 3});
  for (std::int64_t b = 0; b < img.dim(0); ++b)
    for (int c = 0; c < 3; ++c) out.data()[b * 3 + c] = img.at({b, c, i, j});
  return out;
}

template <creps::Config C>
void check_fixture(const std::string& name) {
  INFO(name);
  const auto [weights, fixture, metadata] = load_fixture("creps", name);
  creps::Generator<C> g;
  g.load_state_dict(weights);  // strict: every official key and shape must match
  CHECK(g.state_dict_keys() == metadata_list(metadata.at("keys")));
  const double psi = std::stod(metadata.at("truncation"));
  const auto w = g.map(fixture.at("fixture.z"));
  CHECK(relative_error(w, fixture.at("fixture.w")) < 1e-5);
  // One style per layer when the fixture mixes two latents, else the truncated w for every layer.
  const Tensor<float> ws = fixture.count("fixture.ws") ? fixture.at("fixture.ws") : creps::truncate(w, g.w_avg(), psi);

  const auto& rows = fixture.at("fixture.rows");
  const auto& cols = fixture.at("fixture.cols");
  const auto rgb = g.synthesize_grid(ws, rows, cols);
  const double err = relative_error(rgb, fixture.at("fixture.rgb"));
  MESSAGE(name << ": grid " << rows.numel() << " x " << cols.numel() << ", max error relative to the largest output "
               << err);
  CHECK(err < 1e-5);

  const auto points = g.synthesize_points(ws, fixture.at("fixture.ys"), fixture.at("fixture.xs"));
  const double perr = relative_error(points, fixture.at("fixture.rgb_points"));
  MESSAGE(name << ": " << points.dim(1) << " points, relative error " << perr);
  CHECK(perr < 1e-5);
}

std::vector<std::string> dead_keys_of(const nn::Module<double>& g) {
  std::vector<std::string> dead;
  for (const auto& key : g.state_dict_keys())
    if (key.rfind("synthesis.b4.tores.", 0) == 0 || key.rfind("synthesis.decoder_8.", 0) == 0) dead.push_back(key);
  return dead;
}

}  // namespace

TEST_CASE("official parameter counts, key counts, names and shapes") {
  static_assert(std::is_same_v<creps::MultiDecoder<256, 8>, creps::Official<256>>);
  static_assert(!std::is_same_v<creps::SingleDecoder<256, 8>, creps::Official<256>>);
  static_assert(creps::Official<256>::num_ws == 15 && creps::Official<512>::num_ws == 17);
  {
    creps::Official<256> g;
    CHECK(g.parameter_count() == 30530825);
    const auto keys = g.state_dict_keys();
    CHECK(keys.size() == 184);
    CHECK(keys.front() == "synthesis.b4.input.weight");
    CHECK(keys[1] == "synthesis.b4.input.freqs");
    CHECK(keys[2] == "synthesis.b4.input.coords");
    CHECK(keys.back() == "mapping.fc7.bias");
    const auto state = g.state_dict();
    CHECK(state.at("synthesis.b4.input.weight").shape() == Shape{1, 1024, 1, 16});
    CHECK(state.at("synthesis.b4.input.freqs").shape() == Shape{1, 4096});
    CHECK(state.at("synthesis.b4.input.coords").shape() == Shape{1, 256, 2, 1});
    CHECK(state.at("synthesis.b4.input.affine.weight").shape() == Shape{16384, 512});
    CHECK(state.at("synthesis.b4.tores.weight").shape() == Shape{32, 1024});  // dead, but loads
    CHECK(state.at("synthesis.b128.fc0.weight").shape() == Shape{512, 1024});
    CHECK(state.at("synthesis.b256.fc0.affine.weight").shape() == Shape{512, 512});
    CHECK(state.at("synthesis.b256.tores.weight").shape() == Shape{32, 256});
    CHECK(state.at("synthesis.decoder_8.0.weight").shape() == Shape{64, 32});  // dead, but loads
    CHECK(state.at("synthesis.decoder_256.2.weight").shape() == Shape{64, 128});
    CHECK(state.at("synthesis.decoder_img.weight").shape() == Shape{3, 32});
    CHECK(state.at("synthesis.block0.fc0.weight").shape() == Shape{128, 32});
    CHECK(state.at("synthesis.block1.tores.weight").shape() == Shape{3, 64});
    CHECK(state.at("mapping.w_avg").shape() == Shape{512});
    CHECK(state.count("synthesis.decoder_512.0.weight") == 0);
    // The official initial coordinates: linspace(0, 1, 256) in both slots.
    const auto& t = g.synthesis.input().coords;
    CHECK(t.data()[0] == 0.0f);
    CHECK(t.data()[2 * 255 + 1] == 1.0f);
  }
  {
    creps::Official<512> g;
    CHECK(g.parameter_count() == 30867785);
    CHECK(g.state_dict_keys().size() == 204);
    CHECK(g.state_dict().at("synthesis.b512.fc0.weight").shape() == Shape{128, 256});
  }
}

TEST_CASE("parity with the PyTorch reference fixtures") {
  check_fixture<official16>("official16");
  check_fixture<thick4_scaled32>("thick4_scaled32");
  check_fixture<single16>("single16");
  check_fixture<dense16>("dense16");
}

TEST_CASE("the fp16 refinement emulation matches the reference's") {
  const auto [weights, fixture, metadata] = load_fixture("creps", "official16");
  creps::Generator<official16> g;
  g.load_state_dict(weights);
  const auto w = creps::truncate(g.map(fixture.at("fixture.z")), g.w_avg(), std::stod(metadata.at("truncation")));
  const creps::SynthesisOptions fp16{.refinement = creps::Precision::fp16};

  // On the same float32 inputs the emulation agrees value for value, but for the rare fp16 rounding
  // that an ulp of float32 summation order flips.
  const auto& feature = fixture.at("fixture.refine_feature");
  const auto& rgb0 = fixture.at("fixture.refine_rgb");
  const auto got = g.refine(w, feature, rgb0, fp16);
  const auto& want = fixture.at("fixture.refine_fp16");
  std::int64_t same = 0;
  for (std::int64_t i = 0; i < want.numel(); ++i) same += got.data()[i] == want.data()[i];
  const double exact = double(same) / double(want.numel());
  const auto fp32 = g.refine(w, feature, rgb0);
  CHECK(relative_error(fp32, fixture.at("fixture.refine_fp32")) < 1e-5);
  const double effect = relative_error(fp32, want, Norm::l2);  // what fp16 changes
  const double err = relative_error(got, want, Norm::l2);
  MESSAGE("refinement on given inputs: " << 100 * exact << "% identical values, l2 error " << err
                                         << " (fp16 vs fp32: " << effect << ")");
  CHECK(exact > 0.9);
  CHECK(err < 0.05 * effect);

  // End to end the float32 bi-line path feeds slightly different inputs to the fp16 rounding; the
  // emulation still tracks the reference's far more closely than fp32 does.
  const auto& rows = fixture.at("fixture.rows");
  const auto& cols = fixture.at("fixture.cols");
  const auto img16 = g.synthesize_grid(w, rows, cols, fp16);
  const double end_err = relative_error(img16, fixture.at("fixture.rgb_fp16"), Norm::l2);
  const double end_effect = relative_error(fixture.at("fixture.rgb"), fixture.at("fixture.rgb_fp16"), Norm::l2);
  MESSAGE("end to end: l2 error " << end_err << " (fp16 vs fp32: " << end_effect << ")");
  CHECK(end_err < 0.2 * end_effect);
  CHECK_THROWS_WITH_AS(g.refine(Var<float>(w), Var<float>(feature), Var<float>(rgb0), fp16),
                       doctest::Contains("inference"), Error);
}

TEST_CASE("per-point evaluation equals the grid render at grid points") {
  constexpr creps::Config c{.size = 16,
                            .z_dim = 16,
                            .w_dim = 16,
                            .mapping_layers = 2,
                            .channel_base = 256,
                            .channel_max = 32,
                            .biline_channels = 8,
                            .thickness = 4};
  creps::Generator<c> g(5);
  const auto w = g.map(Tensor<float>::randn({2, 16}, Philox{6}));
  const auto rows = coords::linspace<float>(-0.2f, 1.1f, 7), cols = coords::linspace<float>(0.0f, 1.0f, 9);
  const auto img = g.synthesize_grid(w, rows, cols);
  // Every grid pixel once, shuffled, plus repeats.
  std::vector<std::int64_t> is, js;
  for (std::int64_t k = 0; k < 7 * 9 + 5; ++k) is.push_back((k * 5) % 7), js.push_back((k * 4 + k / 7) % 9);
  auto ys = Tensor<float>::empty({std::int64_t(is.size())}), xs = ys.clone();
  for (std::size_t k = 0; k < is.size(); ++k) ys.data()[k] = rows.data()[is[k]], xs.data()[k] = cols.data()[js[k]];
  const auto pts = g.synthesize_points(w, ys, xs);
  REQUIRE(pts.shape() == Shape{2, std::int64_t(is.size()), 3});
  for (std::size_t k = 0; k < is.size(); ++k) {
    const auto want = pixel(img, is[k], js[k]);
    for (int b = 0; b < 2; ++b)
      for (int ch = 0; ch < 3; ++ch) CHECK(pts.at({b, std::int64_t(k), ch}) == want.at({b, ch}));
  }
}

TEST_CASE("one w for every layer equals the same w broadcast to num_ws") {
  creps::Generator<single16> g(2);
  const auto w = g.map(Tensor<float>::randn({2, 16}, Philox{3}));
  auto ws = Tensor<float>::empty({2, g.num_ws, 16});
  for (std::int64_t b = 0; b < 2; ++b)
    for (int i = 0; i < g.num_ws; ++i)
      std::copy(w.data() + b * 16, w.data() + (b + 1) * 16, ws.data() + (b * g.num_ws + i) * 16);
  const auto rows = coords::linspace<float>(0, 1, 5), cols = coords::linspace<float>(0, 1, 4);
  CHECK(g.synthesize_grid(ws, rows, cols).to_vector() == g.synthesize_grid(w, rows, cols).to_vector());
}

TEST_CASE("gradients reach every trainable parameter through the Var forward, and none the dead ones") {
  constexpr creps::Config tiny{.size = 16,
                               .z_dim = 8,
                               .w_dim = 8,
                               .mapping_layers = 2,
                               .channel_base = 64,
                               .channel_max = 8,
                               .biline_channels = 4,
                               .thickness = 2};
  creps::Generator<tiny, double> g(3);
  Philox gen{5};
  const auto z = Var<double>(Tensor<double>::randn({2, 8}, gen));
  const auto rows = Tensor<double>::rand({3}, gen), cols = Tensor<double>::rand({4}, gen);
  const auto out = g.synthesize_grid(g.map(z), rows, cols);
  // Same numbers as the Tensor path.
  const auto plain = g.synthesize_grid(g.map(z.value()), rows, cols);
  REQUIRE(out.shape() == Shape{2, 3, 3, 4});
  for (std::int64_t i = 0; i < plain.numel(); ++i) CHECK(out.value().data()[i] == doctest::Approx(plain.data()[i]));
  autograd::backward(sum(mul(out, out)));
  const auto dead = dead_keys_of(g);
  CHECK(dead.size() == 4 + 8);                      // b4.tores: weight, bias, affine.{weight,bias}; decoder_8: 4 layers
  for (const auto& named : g.named_parameters()) {  // not a structured binding: INFO is a lambda to clang 14
    const std::string& name = named.first;
    const auto* p = named.second;
    INFO(name);
    if (std::find(dead.begin(), dead.end(), name) != dead.end()) {
      CHECK(!p->grad().defined());
      continue;
    }
    REQUIRE(p->grad().defined());
    double norm = 0;
    for (std::int64_t i = 0; i < p->numel(); ++i) norm += std::abs(p->grad().value().data()[i]);
    CHECK(norm > 0);
  }
}

TEST_CASE("bad inputs are named") {
  creps::Generator<single16> g(1);
  const auto w = g.map(Tensor<float>::randn({1, 16}, Philox{1}));
  const auto t = coords::linspace<float>(0, 1, 4);
  CHECK_THROWS_WITH_AS(g.synthesize_grid(w, Tensor<float>::empty({0}), t), doctest::Contains("rows"), Error);
  auto bad = t.clone();
  bad.data()[2] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH_AS(g.synthesize_grid(w, t, bad), doctest::Contains("cols[2]"), Error);
  CHECK_THROWS_WITH_AS(g.synthesize_points(w, t, coords::linspace<float>(0, 1, 3)), doctest::Contains("xs"), Error);
  CHECK_THROWS_WITH_AS(g.synthesize_grid(Tensor<float>::zeros({1, 15}), t, t), doctest::Contains("w has shape"), Error);
  CHECK_THROWS_WITH_AS(g.map(Tensor<float>::zeros({2, 3})), doctest::Contains("z has shape"), Error);
  // Weights of another variant: every missing, unexpected and wrongly shaped key at once.
  creps::Generator<official16> other;
  try {
    g.load_state_dict(other.state_dict());
    FAIL("loading another configuration's weights must throw");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("missing") != std::string::npos);
    CHECK(msg.find("unexpected") != std::string::npos);
    CHECK(msg.find("synthesis.decoder_8.0.weight") != std::string::npos);
    CHECK(msg.find("synthesis.b4.input.weight: expected shape") != std::string::npos);
  }
}

namespace {

// Wide enough (k >= 48, many row blocks) that GEMM blocking and threading would show.
constexpr creps::Config wide16{.size = 16,
                               .z_dim = 16,
                               .w_dim = 16,
                               .mapping_layers = 2,
                               .channel_base = 2048,
                               .channel_max = 96,
                               .biline_channels = 16,
                               .thickness = 4};

Tensor<float> crop(const Tensor<float>& img, std::int64_t r0, std::int64_t c0, std::int64_t h, std::int64_t w) {
  auto out = Tensor<float>::empty({img.dim(0), 3, h, w});
  for (std::int64_t b = 0; b < img.dim(0); ++b)
    for (std::int64_t c = 0; c < 3; ++c)
      for (std::int64_t i = 0; i < h; ++i)
        for (std::int64_t j = 0; j < w; ++j) out.at({b, c, i, j}) = img.at({b, c, r0 + i, c0 + j});
  return out;
}

}  // namespace

TEST_CASE("a tiled render equals the one-shot render bit for bit, and a tile equals the crop") {
  creps::Generator<wide16> g(11);
  const auto w = g.map(Tensor<float>::randn({2, 16}, Philox{3}));
  const auto grid = coords::axis_grid<float>(13, 17);
  const auto whole = g.synthesize_grid(w, grid.rows, grid.cols);
  for (const auto& budget :  // not a structured binding: doctest's CAPTURE is a lambda, and clang 14 refuses
       {std::pair<std::int64_t, std::int64_t>{2, 2}, {14, 6}, {64, 1000}, {333, 11}, {100000, 100000}}) {
    const std::int64_t max_pixels = budget.first, max_axis_points = budget.second;
    CAPTURE(max_pixels);
    CAPTURE(max_axis_points);
    std::int64_t calls = 0;
    render::CrepsRenderOptions<float> options{.max_pixels = max_pixels, .max_axis_points = max_axis_points};
    options.progress = [&](std::int64_t, std::int64_t) { ++calls; };
    const auto tiled = render::render_image(g, w, grid, options);
    CHECK(calls == (13 * 17 + max_pixels / 2 - 1) / (max_pixels / 2));
    CHECK(tiled.to_vector() == whole.to_vector());
    const auto tile = render::render_image(g, w, coords::crop(grid, 4, 9, 7, 5), options);
    CHECK(tile.to_vector() == crop(whole, 4, 9, 7, 5).to_vector());
  }
  // Points in chunks equal points at once.
  const auto points = coords::to_points(coords::crop(grid, 2, 3, 5, 6));
  const auto all = render::render_points(g, w, points, {.max_pixels = 1 << 20, .max_axis_points = 1 << 20});
  CHECK(render::render_points(g, w, points, {.max_pixels = 6, .max_axis_points = 14}).to_vector() == all.to_vector());
  CHECK(render::render_points(g, w, points, {.max_pixels = 50, .max_axis_points = 2}).to_vector() == all.to_vector());
  // The dense variant tiles the same way.
  creps::Generator<dense16> nb(4);
  const auto wn = nb.map(Tensor<float>::randn({1, 16}, Philox{5}));
  CHECK(render::render_image(nb, wn, grid, {.max_pixels = 7}).to_vector() ==
        nb.synthesize_grid(wn, grid.rows, grid.cols).to_vector());
  CHECK_THROWS_WITH_AS(render::render_image(g, w, grid, {.max_axis_points = 0}), doctest::Contains("max_axis_points"),
                       Error);
}

TEST_CASE("geometric control: any scale, zoom and rotation through coordinates") {
  creps::Generator<wide16> g(12);
  const auto w = g.map(Tensor<float>::randn({1, 16}, Philox{8}));
  const auto fine = g.synthesize_grid(w, coords::linspace<float>(0, 1, 9), coords::linspace<float>(0, 1, 17));
  // Any scale: 5 x 9 points over the same span are every other pixel of the 9 x 17 render.
  const auto coarse = g.synthesize_grid(w, coords::linspace<float>(0, 1, 5), coords::linspace<float>(0, 1, 9));
  for (std::int64_t i = 0; i < 5; ++i)
    for (std::int64_t j = 0; j < 9; ++j)
      for (int c = 0; c < 3; ++c) CHECK(coarse.at({0, c, i, j}) == fine.at({0, c, 2 * i, 2 * j}));
  // Zoom x2 about the centre, per axis: the 5 x 9 view is the middle of the fine render.
  const auto zoomed = coords::transform(coords::zoom(2.0f, 0.5f, 0.5f), coords::axis_grid<float>(5, 9));
  CHECK(g.synthesize_grid(w, zoomed.rows, zoomed.cols).to_vector() == crop(fine, 2, 4, 5, 9).to_vector());
  // A quarter turn about the centre moves pixel (i, j) of a square grid to (j, n - 1 - i).
  const auto square = coords::axis_grid<float>(9, 9);
  const auto img = g.synthesize_grid(w, square.rows, square.cols);
  const auto turned =
      coords::transform(coords::rotation(std::numbers::pi_v<float> / 2, 0.5f, 0.5f), coords::to_points(square));
  const auto rgb = render::render_points(g, w, turned);
  double err = 0, scale = 0;
  for (std::int64_t i = 0; i < 9; ++i)
    for (std::int64_t j = 0; j < 9; ++j)
      for (int c = 0; c < 3; ++c) {
        // Point (x_j, y_i) turns to (1 - y_i, x_j): row j, column 8 - i.
        err = std::max(err, double(std::abs(rgb.at({0, i * 9 + j, c}) - img.at({0, c, j, 8 - i}))));
        scale = std::max(scale, double(std::abs(img.at({0, c, j, 8 - i}))));
      }
  MESSAGE("quarter turn vs the permuted grid render: " << err / scale);
  CHECK(err / scale < 1e-5);
}

TEST_CASE("a grid's bi-line composition as one batched product equals biline_compose, values and gradients") {
  // creps::detail::compose_grid is what training on the GPU composes grids with; here on the CPU in double.
  Philox gen{8};
  const auto u = Var<double>::parameter(Tensor<double>::randn({2, 3, 2, 4}, gen));
  const auto v = Var<double>::parameter(Tensor<double>::randn({2, 5, 2, 4}, gen));
  auto ri = Tensor<std::int64_t>::empty({15}), ci = Tensor<std::int64_t>::empty({15});
  for (std::int64_t p = 0; p < 15; ++p) ri.data()[p] = p / 5, ci.data()[p] = p % 5;
  const auto weights = Var<double>::constant(Tensor<double>::randn({2, 15, 4}, gen));
  const auto grid = creps::detail::compose_grid(u, v);
  const auto pairs = biline_compose(u, v, ri, ci);
  REQUIRE(grid.shape() == pairs.shape());
  for (std::int64_t i = 0; i < pairs.numel(); ++i)
    CHECK(grid.value().data()[i] == doctest::Approx(pairs.value().data()[i]).epsilon(1e-14));
  const auto grads = [&](const Var<double>& out) {
    return autograd::grad(std::vector<Var<double>>{sum(mul(out, weights))}, std::vector<Var<double>>{u, v});
  };
  const auto want = grads(pairs), got = grads(grid);
  for (int k = 0; k < 2; ++k)
    for (std::int64_t i = 0; i < want[k].numel(); ++i)
      CHECK(got[k].value().data()[i] == doctest::Approx(want[k].value().data()[i]).epsilon(1e-14));
}
