// The CUDA CREPS engine's 16-bit mode, emulated on the CPU: the double-precision forward of
// tests/support/creps_engine_reference.hpp with values rounded where the GPU rounds them, on every
// generator and random model that tests/cuda/test_cuda_creps.cpp renders. It shows where the mode's error
// comes from (one rounding point at a time) and checks that the rounding the engine ships stays within the
// GPU tests' bound; the GPU tests check the engine itself.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

#include "pixsyn/models/creps.hpp"
#include "pixsyn/render/detail/creps_weights.hpp"
#include "support/cips_fixtures.hpp"
#include "support/creps_engine_reference.hpp"
#include "support/creps_fixtures.hpp"

using namespace pixsyn;
using namespace pixsyn::test;
using creps_engine::Format;
using creps_engine::Rounding;

namespace {

struct Variant {
  const char* name;
  Rounding rounding;
};
constexpr Format bf16 = Format::bf16, fp16 = Format::fp16;
// The exact forward; each rounding point of the bi-line path alone in bf16, and the per-pixel chain alone;
// the 16-bit mode before fp16 operands in the bi-line path (e0e74e3), and as built.
const Variant variants[] = {
    {"exact", {}},
    {"input bf16", {.input = bf16}},
    {"fc weights bf16", {.fc_weights = bf16}},
    {"fc values bf16", {.fc_values = bf16}},
    {"ToRes weights bf16", {.tores_weights = bf16}},
    {"per-pixel fp16", {.pixels = fp16, .packed_hidden = true}},
    {"bf16 bi-line, fp16 per-pixel (e0e74e3)", {bf16, bf16, bf16, bf16, fp16, true}},
    {"fp16 bi-line, fp16 per-pixel (as built)", creps_engine::engine_16bit},
};
constexpr std::size_t exact = 0, built = std::size(variants) - 1;

struct Errors {
  double l2 = 0, max = 0;
};

Errors errors(const std::vector<double>& got, const std::vector<float>& want) {
  REQUIRE(got.size() == want.size());
  auto g = Tensor<float>::empty({std::int64_t(got.size())});
  std::transform(got.begin(), got.end(), g.data(), [](double v) { return static_cast<float>(v); });
  const auto w = Tensor<float>::from(want, {std::int64_t(want.size())});
  return {relative_error(g, w, Norm::l2), relative_error(g, w, Norm::max)};
}

// Each variant's error (its worst over the renders of one model).
void report(const std::string& what, const std::vector<Errors>& e) {
  std::ostringstream line;
  line << what << " (relative error: L2, max)" << std::scientific << std::setprecision(1);
  for (std::size_t i = 0; i < e.size(); ++i) line << "\n  " << variants[i].name << ": " << e[i].l2 << ", " << e[i].max;
  MESSAGE(line.str());
}

template <creps::Config C>
void emulate_generator(const creps::Generator<C>& g, const creps_engine::GeneratorInputs& in, const std::string& name) {
  const auto m = render::detail::creps_weights(g);
  const bool per_layer = in.ws.rank() == 3;
  const auto ws = in.ws.to_vector();
  const auto rows = in.rows.to_vector(), cols = in.cols.to_vector();
  const auto grid = g.synthesize_grid(in.ws, in.rows, in.cols).to_vector();
  const auto points = permute(g.synthesize_points(in.ws, in.ys, in.xs), {0, 2, 1}).to_vector();
  std::vector<Errors> e;
  for (const auto& v : variants) {
    const auto a = errors(creps_engine::forward(m, ws, in.ws.dim(0), per_layer, rows, cols, false, v.rounding), grid);
    const auto b = errors(
        creps_engine::forward(m, ws, in.ws.dim(0), per_layer, in.ys.to_vector(), in.xs.to_vector(), true, v.rounding),
        points);
    e.push_back(Errors{std::max(a.l2, b.l2), std::max(a.max, b.max)});
  }
  report(name, e);
  CHECK(e[exact].max <= 1e-5);  // the emulation's arithmetic is the CPU generator's
  CHECK(e[built].max <= 1e-2);
}

}  // namespace

TEST_CASE("creps gpu numerics: the 16-bit mode emulated on the generators of the GPU tests") {
  {
    creps::Generator<official16> g;
    emulate_generator(g, creps_engine::load_generator_fixture(g, "official16"), "official16");
  }
  {
    creps::Generator<thick4_scaled32> g;
    emulate_generator(g, creps_engine::load_generator_fixture(g, "thick4_scaled32"), "thick4_scaled32");
  }
  const creps::Generator<creps_engine::k32> g(creps_engine::k32_seed);
  emulate_generator(g, creps_engine::k32_inputs(g), "random K 32");
}

TEST_CASE("creps gpu numerics: the 16-bit mode emulated on the random models of the GPU tests") {
  for (const auto& model : creps_engine::random_models) {
    const auto m = creps_engine::random_model(model.shape, model.seed);
    std::vector<Errors> worst(std::size(variants));
    for (const auto& c : creps_engine::cases(model, 2 * std::int64_t(m.tores.size()) + 3)) {
      const auto want = creps_engine::forward(m, c.ws, c.batch, c.per_layer, c.rows, c.cols, c.diagonal);
      const std::vector<float> wantf(want.begin(), want.end());
      for (std::size_t i = 0; i < std::size(variants); ++i) {
        const auto e = errors(
            creps_engine::forward(m, c.ws, c.batch, c.per_layer, c.rows, c.cols, c.diagonal, variants[i].rounding),
            wantf);
        worst[i].l2 = std::max(worst[i].l2, e.l2), worst[i].max = std::max(worst[i].max, e.max);
      }
    }
    report(model.name, worst);
    CHECK(worst[built].max <= 1e-2);
  }
}
