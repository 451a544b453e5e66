#include <doctest/doctest.h>

#include <pixsyn/autograd/backward.hpp>
#include <pixsyn/coords/grid.hpp>
#include <pixsyn/io/safetensors.hpp>
#include <pixsyn/models/cips.hpp>
#include <pixsyn/render/tiled.hpp>

#include "support/cips_fixtures.hpp"
#include "support/graph_bytes.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

using namespace pixsyn;
using namespace pixsyn::test;

namespace {

// (B, C, H, W) -> (B, H*W, C), the generator's channels-last point layout.
Tensor<float> channels_last(const Tensor<float>& x) {
  const auto b = x.dim(0), c = x.dim(1), p = x.dim(2) * x.dim(3);
  auto out = Tensor<float>::empty({b, p, c});
  for (std::int64_t i = 0; i < b; ++i)
    for (std::int64_t k = 0; k < c; ++k)
      for (std::int64_t q = 0; q < p; ++q) out.data()[(i * p + q) * c + k] = x.data()[(i * c + k) * p + q];
  return out;
}

template <cips::Config C>
void check_fixture(const std::string& name) {
  const auto [weights, fixture, metadata] = load_cips_fixture(name);
  cips::Generator<C> g;
  g.load_state_dict(weights);  // strict: every official key and shape must match
  const double psi = std::stod(metadata.at("truncation"));
  const auto w = g.map(fixture.at("fixture.z"));
  CHECK(relative_error(w, fixture.at("fixture.w")) < 1e-5);
  const auto wt = cips::truncate(w, fixture.at("fixture.mean_w"), psi);

  const Tensor<float> xy = channels_last(fixture.at("fixture.coords"));
  cips::NoiseSource<float> noise;
  if (metadata.at("noise") == "given") {
    noise.mode = cips::NoiseMode::given;
    for (int k = 0; k < C.styled_convs(); ++k) {
      const auto& map = fixture.at("fixture.noise." + std::to_string(k));
      noise.maps.push_back(map.reshape({map.dim(0), -1}));
    }
  }
  const auto rgb = g.synthesize(wt, xy, noise);
  const double err = relative_error(rgb, channels_last(fixture.at("fixture.rgb")));
  MESSAGE(name << ": max error relative to the largest output " << err);
  CHECK(err < 1e-5);

  // Shared points give the same result as one point set per sample.
  const auto shared = g.synthesize(wt, xy.narrow(0, 1).reshape({xy.dim(1), 2}), noise);
  CHECK(relative_error(shared, rgb) < 1e-6);
}

}  // namespace

TEST_CASE("official parameter counts and key counts") {
  cips::Skips<256> skips;
  CHECK(skips.parameter_count() == 44317092);
  CHECK(skips.named_parameters().size() == 122);
  CHECK(skips.named_parameters().front().first == "lff.ffm.conv.weight");
  CHECK(skips.named_parameters().back().first == "style.8.bias");
  cips::Residual<256> res;
  CHECK(res.parameter_count() == 43027858);
  CHECK(res.named_parameters().size() == 100);
  cips::NoEmbedding<256> ne;
  CHECK(ne.parameter_count() == 44317092 - 33554432 - 524800);  // 10.24M, the paper's CIPS-NE
  cips::Base<256> base;
  CHECK(base.parameter_count() == 42864018);  // 42.86M (cips.md §6)
}

TEST_CASE("official state-dict names and shapes") {
  cips::Skips<256> g;
  const auto state = g.state_dict();
  CHECK(state.at("emb.input").shape() == Shape{1, 512, 256, 256});
  CHECK(state.at("conv1.conv.weight").shape() == Shape{1, 512, 1024, 1, 1});
  CHECK(state.at("conv1.conv.modulation.weight").shape() == Shape{1024, 512});
  CHECK(state.at("linears.10.conv.weight").shape() == Shape{1, 256, 512, 1, 1});
  CHECK(state.at("linears.13.activate.bias").shape() == Shape{128});
  CHECK(state.at("to_rgbs.6.conv.weight").shape() == Shape{1, 3, 128, 1, 1});
  CHECK(state.at("to_rgbs.6.bias").shape() == Shape{1, 3, 1, 1});
  CHECK(state.at("style.1.weight").shape() == Shape{512, 512});
  CHECK(state.count("linears.0.noise.weight") == 1);
  cips::Residual<256> r;
  const auto rs = r.state_dict();
  CHECK(rs.at("linears.6.skip.0.weight").shape() == Shape{256, 512, 1, 1});
  CHECK(rs.at("linears.7.skip.0.weight").shape() == Shape{128, 256, 1, 1});
  CHECK(rs.count("linears.5.skip.0.weight") == 0);
  CHECK(rs.at("to_rgb_last.conv.weight").shape() == Shape{1, 3, 128, 1, 1});
  cips::Sine<64> sine;
  CHECK(sine.state_dict().at("conv1.bias").shape() == Shape{1, 512, 1, 1});
  CHECK(sine.state_dict().count("lff.ffm.conv.weight") == 0);
}

TEST_CASE("parity with the PyTorch reference fixtures") {
  check_fixture<skips_native16>("skips_native16");
  check_fixture<skips_grid24x40>("skips_grid24x40");
  check_fixture<residual_native16>("residual_native16");
  check_fixture<residual_grid20x12>("residual_grid20x12");
  check_fixture<skips_widths32>("skips_widths32");
}

TEST_CASE("loading weights of another model reports every problem") {
  cips::Generator<skips_native16> g;
  cips::Generator<residual_native16> r;
  try {
    g.load_state_dict(r.state_dict());
    FAIL("loading residual weights into a skips model must throw");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("missing") != std::string::npos);
    CHECK(msg.find("conv1.conv.weight") != std::string::npos);
    CHECK(msg.find("linears.1.conv1.conv.weight") != std::string::npos);
  }
}

TEST_CASE("gradients reach every parameter through the Var forward") {
  constexpr cips::Config tiny{.size = 8, .hidden = 8, .style_dim = 8, .mapping_layers = 2, .channels = {8, 8}};
  cips::Generator<tiny, double> g(3);
  Philox gen{5};
  auto z = Var<double>(Tensor<double>::randn({2, 8}, gen));
  auto xy = Var<double>(Tensor<double>::rand({5, 2}, gen));
  cips::NoiseSource<double> noise{.mode = cips::NoiseMode::seeded, .seed = 9};
  auto out = g.synthesize(g.map(z), xy, noise);
  // Same numbers as the Tensor path.
  const auto plain = g.synthesize(g.map(z.value()), xy.value(), noise);
  for (std::int64_t i = 0; i < plain.numel(); ++i) CHECK(out.value().data()[i] == doctest::Approx(plain.data()[i]));
  autograd::backward(sum(mul(out, out)));
  for (const auto& named : g.named_parameters()) {  // not a structured binding: INFO is a lambda to clang 14
    const auto* p = named.second;
    INFO(named.first);
    REQUIRE(p->grad().defined());
    double norm = 0;
    for (std::int64_t i = 0; i < p->numel(); ++i) norm += std::abs(p->grad().value().data()[i]);
    CHECK(norm > 0);
  }
}

TEST_CASE("the training graph keeps about one (B, P, C) tensor per layer") {
  // Each StyledConv is one graph node (styled_fc) and the features enter once for the whole batch; the rest
  // (features, RGB heads, noise, mapping) is small at B = 8. Composites of plain ops kept five per layer.
  constexpr cips::Config c{.size = 16, .hidden = 16, .style_dim = 16, .mapping_layers = 2, .channels = {16, 16, 16}};
  cips::Generator<c, double> g(3);
  const std::int64_t batch = 8, points = 16 * 16;
  const auto w = g.map(Var<double>(Tensor<double>::randn({batch, 16}, Philox{4})));
  const auto images = g.synthesize_training(w, {.mode = cips::NoiseMode::seeded, .seed = 5});
  const std::int64_t layer_bytes = batch * points * 16 * std::int64_t(sizeof(double));
  const std::int64_t bytes = graph_bytes(images);
  MESSAGE("graph ", bytes, " bytes = ", double(bytes) / layer_bytes, " x one layer's output, ", c.styled_convs(),
          " layers");
  CHECK(bytes < 2 * c.styled_convs() * layer_bytes);
}

TEST_CASE("seeded noise depends on the pixel's global index, not on its position in the batch of points") {
  cips::NoiseSource<float> noise{.mode = cips::NoiseMode::seeded, .seed = 4};
  const auto whole = noise.draw(2, 2, 10);
  noise.points = Tensor<std::int64_t>::from({7, 8, 9}, {3});
  const auto part = noise.draw(2, 2, 3);
  for (int b = 0; b < 2; ++b)
    for (int p = 0; p < 3; ++p) CHECK(part.at({b, p, 0}) == whole.at({b, 7 + p, 0}));
}

TEST_CASE("a tiled render equals the one-shot render bit for bit") {
  // Wide enough (k >= 48, many row blocks) that GEMM blocking and threading would show.
  constexpr cips::Config small{
      .size = 16, .hidden = 64, .style_dim = 32, .mapping_layers = 2, .channels = {96, 64, 64}};
  cips::Generator<small> g(11);
  const auto w = g.map(Tensor<float>::randn({2, 32}, Philox{3}));
  const auto grid = coords::grid<float>(29, 37);
  render::RenderOptions<float> options{.noise = cips::NoiseMode::seeded, .noise_seed = 5};
  const auto whole = render::render_image(g, w, grid, options);
  for (std::int64_t max_pixels : {std::int64_t{2}, std::int64_t{14}, std::int64_t{64}, std::int64_t{100},
                                  std::int64_t{333}, std::int64_t{1000}, std::numeric_limits<std::int64_t>::max()}) {
    options.max_pixels = max_pixels;
    std::int64_t calls = 0;
    options.progress = [&](std::int64_t, std::int64_t) { ++calls; };
    const auto tiled = render::render_image(g, w, grid, options);
    CHECK(calls == (29 * 37 + max_pixels / 2 - 1) / (max_pixels / 2));
    CHECK(tiled.to_vector() == whole.to_vector());
  }
}
