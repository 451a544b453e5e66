// The fused GPU render of CREPS: render::CudaCreps against the CPU creps::Generator on the PyTorch fixtures
// and a random model; and the engine (backend/cuda/creps_fast.hpp) against an independent double-precision
// forward written from the spec (../shared/spec/creps.md §1; support/creps_engine_reference.hpp), on random
// small models: grids of ragged sizes, point sets, one w or one per layer, layer-wise and single fusion,
// bi-line ranks with and without 4-wide loads, one tile and many. Errors relative to the largest output
// (max norm): fp32 ≤ 1e-5, the 16-bit mode (Precision::bf16: fp16 operands, fp32 accumulation) ≤ 1e-2.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "pixsyn/backend/cuda/creps_fast.hpp"
#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/coords/grid.hpp"
#include "pixsyn/core/philox.hpp"
#include "pixsyn/core/tensor.hpp"
#include "pixsyn/models/creps.hpp"
#include "pixsyn/render/cuda_creps.hpp"
#include "support/cips_fixtures.hpp"
#include "support/creps_engine_reference.hpp"
#include "support/creps_fixtures.hpp"
#include "support/cuda.hpp"

namespace {

using namespace pixsyn;
using namespace pixsyn::test;
using backend::cuda::CrepsEngine;
using backend::cuda::CrepsRenderOptions;
using backend::cuda::CrepsWeights;
using backend::cuda::Precision;
using creps_engine::Vec;

// The renders each test compares: fp32 twice (3×TF32 split GEMMs, the default where the GPU has TF32
// tensor cores, and SGEMM) and the 16-bit mode twice (the fused Hopper layers where the GPU has them, and
// cuBLAS).
struct Mode {
  Precision precision;
  bool fused;
  int split;
  const char* label;
};
constexpr Mode modes[] = {{Precision::fp32, false, 2, "fp32"},
                          {Precision::fp32, false, 0, "fp32 SGEMM"},
                          {Precision::bf16, true, 2, "16-bit fused"},
                          {Precision::bf16, false, 2, "16-bit cuBLAS"}};

// ---- The comparison.

// max |got - want| / max |want|.
double error(const std::vector<float>& got, const Vec& want) {
  Tensor<float> g = Tensor<float>::empty({std::int64_t(got.size())}),
                r = Tensor<float>::empty({std::int64_t(want.size())});
  std::copy(got.begin(), got.end(), g.data());
  std::transform(want.begin(), want.end(), r.data(), [](double v) { return static_cast<float>(v); });
  return relative_error(g, r);
}

std::vector<float> render(CrepsEngine& engine, const std::vector<float>& ws, std::int64_t batch, bool per_layer,
                          const std::vector<float>& rows, const std::vector<float>& cols, bool diagonal,
                          const CrepsRenderOptions& options) {
  const auto wd = to_device(Tensor<float>::from(ws, {std::int64_t(ws.size())}));
  const std::int64_t pixels = diagonal ? std::int64_t(cols.size()) : std::int64_t(rows.size() * cols.size());
  auto out = Tensor<float, Cuda>::empty({batch, 3, pixels});
  engine.render(wd.data(), batch, per_layer, rows, cols, diagonal, out.data(), options);
  return to_host(out).to_vector();
}

void check_model(const creps_engine::RandomModel& model) {
  INFO(model.name);
  Poisoned poisoned;
  const CrepsWeights m = creps_engine::random_model(model.shape, model.seed);
  CrepsEngine engine(m);
  const std::int64_t num_ws = engine.num_ws();
  CHECK(num_ws == 2 * std::int64_t(m.tores.size()) + 3);
  for (const auto& c : creps_engine::cases(model, num_ws)) {
    const Vec want = creps_engine::forward(m, c.ws, c.batch, c.per_layer, c.rows, c.cols, c.diagonal);
    for (const Mode& mode : modes) {
      const Precision precision = mode.precision;
      const double tolerance = precision == Precision::fp32 ? 1e-5 : 1e-2;
      const std::string label = mode.label;
      const std::string what = label + ", batch " + std::to_string(c.batch) + (c.per_layer ? ", per-layer ws" : "") +
                               (c.diagonal ? ", point set of " : ", grid ") + std::to_string(c.rows.size()) + " x " +
                               std::to_string(c.cols.size());
      INFO(what);
      CrepsRenderOptions options{.precision = precision, .fused_layers = mode.fused, .tf32_split = mode.split};
      auto measure = [&] {
        return error(render(engine, c.ws, c.batch, c.per_layer, c.rows, c.cols, c.diagonal, options), want);
      };
      const double whole = measure();
      MESSAGE(model.name << ", " << what << ": " << whole);
      CHECK(whole <= tolerance);
      // The replayed graph, then many tiles without one, then a workspace that splits the batch.
      CHECK(measure() <= tolerance);
      options.max_pixels = 70;
      options.graph = false;
      CHECK(measure() <= tolerance);
      options.max_pixels = 0;
      options.workspace_bytes = 1 << 20;
      CHECK(measure() <= tolerance);
    }
  }
}

}  // namespace

TEST_CASE("cuda creps: the fast path equals a double-precision forward on random models") {
  for (const auto& model : creps_engine::random_models) check_model(model);
}

TEST_CASE("cuda creps: bad inputs are refused clearly") {
  const CrepsWeights m =
      creps_engine::random_model({.k = 16, .rank = 4, .input = 32, .style_dim = 8, .widths = {32, 32}}, 5);
  CrepsEngine engine(m);
  const std::vector<float> ws(8, 0.5f), one = {0.5f}, two = {0.1f, 0.9f};
  auto out = Tensor<float, Cuda>::empty({1, 3, 4});
  const auto wd = to_device(Tensor<float>::from(ws, {8}));
  CHECK_THROWS_WITH_AS(engine.render(wd.data(), 1, false, {}, two, false, out.data(), {}),
                       doctest::Contains("a point count of 0"), Error);
  CHECK_THROWS_WITH_AS(engine.render(wd.data(), 1, false, one, two, true, out.data(), {}),
                       doctest::Contains("as many rows"), Error);
  CHECK_THROWS_WITH_AS(engine.render(wd.data(), 1, false, one, two, false, out.data(), {.workspace_bytes = 1000}),
                       doctest::Contains("too small"), Error);
  auto wrong = m;
  wrong.decoder_img.out = 4;
  CHECK_THROWS_WITH_AS(CrepsEngine{wrong}, doctest::Contains("decoder_img"), Error);
  wrong = m;
  wrong.channels = 24;
  CHECK_THROWS_WITH_AS(CrepsEngine{wrong}, doctest::Contains("not supported"), Error);
}

TEST_CASE("cuda creps: bf16 takes the fused Hopper layers where the GPU has them") {
  const CrepsWeights m =
      creps_engine::random_model({.k = 32, .rank = 8, .input = 64, .style_dim = 16, .widths = {64, 64}}, 6);
  const CrepsEngine engine(m);
  CHECK_FALSE(engine.fused_layers({.precision = Precision::fp32}));
  CHECK_FALSE(engine.fused_layers({.precision = Precision::bf16, .fused_layers = false}));
  CHECK(engine.fused_layers({.precision = Precision::bf16}) == backend::cuda::fused_layers_supported());
  if (!backend::cuda::fused_layers_supported())
    MESSAGE("no sm_90a build or not a compute capability 9.0 GPU: the cuBLAS path is the only one");
  // Widths that are not multiples of 8 take the cuBLAS path.
  const CrepsEngine odd(
      creps_engine::random_model({.k = 16, .rank = 4, .input = 32, .style_dim = 8, .widths = {36, 20}}, 7));
  CHECK_FALSE(odd.fused_layers({.precision = Precision::bf16}));
}

namespace {

// The GPU renders of g (grid and point set; every precision and GEMM path) against the CPU generator's,
// and, where given, the fp32 grid against the PyTorch reference's RGB.
template <creps::Config C>
void check_generator(const creps::Generator<C>& g, const Tensor<float>& ws, const Tensor<float>& rows,
                     const Tensor<float>& cols, const Tensor<float>& ys, const Tensor<float>& xs,
                     const std::string& name, const Tensor<float>* reference = nullptr) {
  INFO(name);
  Poisoned poisoned;
  render::CudaCreps<C> fast(g);
  const auto cpu = g.synthesize_grid(ws, rows, cols);
  const auto cpu_points = permute(g.synthesize_points(ws, ys, xs), {0, 2, 1});  // (B, 3, P)
  for (const Mode& mode : modes) {
    const std::string label = mode.label;
    INFO(label);
    const bool fp32 = mode.precision == Precision::fp32;
    // The 16-bit mode's rounding, emulated on the CPU (tests/models/test_creps_gpu_numerics.cpp), gives
    // 2.0e-4 (official16), 3.9e-3 (thick4_scaled32) and 4.1e-3 (random K 32) of the largest output.
    const double tolerance = fp32 ? 1e-5 : 1e-2;
    const render::CudaCrepsOptions options{
        .precision = mode.precision, .fused_layers = mode.fused, .tf32_split = mode.split};
    const auto grid = fast.render_image(ws, rows, cols, options);
    const double grid_error = relative_error(grid, cpu);
    const double point_error = relative_error(to_host(fast.render_points(to_device(ws), ys, xs, options)), cpu_points);
    MESSAGE(name << " " << label << ": grid " << grid_error << ", points " << point_error);
    CHECK(grid_error <= tolerance);
    CHECK(point_error <= tolerance);
    if (reference && fp32) CHECK(relative_error(grid, *reference) <= 1e-5);
  }
}

template <creps::Config C>
void check_fixture(const std::string& name) {
  creps::Generator<C> g;
  const auto in = creps_engine::load_generator_fixture(g, name);
  check_generator(g, in.ws, in.rows, in.cols, in.ys, in.xs, name, &in.rgb);
}

}  // namespace

TEST_CASE("cuda creps: CudaCreps equals the CPU generator on the PyTorch fixtures and a random model") {
  check_fixture<official16>("official16");
  check_fixture<thick4_scaled32>("thick4_scaled32");
  const creps::Generator<creps_engine::k32> g(creps_engine::k32_seed);
  const auto in = creps_engine::k32_inputs(g);
  check_generator(g, in.ws, in.rows, in.cols, in.ys, in.xs, "random K 32");
}

TEST_CASE("cuda creps: CudaCreps refuses bad input clearly") {
  const creps::Generator<official16> g(1);
  render::CudaCreps<official16> fast(g);
  const auto rows = Tensor<float>::from({0.0f, 1.0f}, {2});
  CHECK_THROWS_WITH_AS(fast.render_image(Tensor<float>::zeros({2, 5}), rows, rows), doctest::Contains("w has shape"),
                       Error);
  CHECK_THROWS_WITH_AS(fast.render_image(Tensor<float>::zeros({1, 24}), Tensor<float>::zeros({0}), rows),
                       doctest::Contains("non-empty"), Error);
  CHECK_THROWS_WITH_AS(
      fast.render_image(Tensor<float>::zeros({1, 24}), Tensor<float>::from({0.0f, std::nanf("")}, {2}), rows),
      doctest::Contains("not finite"), Error);
  CHECK_THROWS_WITH_AS(
      fast.render_points(to_device(Tensor<float>::zeros({1, 24})), rows, Tensor<float>::from({0.5f}, {1})),
      doctest::Contains("2 ys but 1 xs"), Error);
}
