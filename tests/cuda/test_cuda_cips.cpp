// The fused GPU render of CIPS (render/cuda_cips.hpp) against the CPU generator: the PyTorch fixture
// models (CIPSskip and CIPSres, trained-like weights) and random-init models, fp32 (≤ 1e-5; the fused 3×TF32
// layers, cuBLAS 3×TF32 and SGEMM) and bf16 (≤ 1e-2; fused and cuBLAS), seeded noise and none, one tile and
// many, a band of rows.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "pixsyn/coords/grid.hpp"
#include "pixsyn/models/cips.hpp"
#include "pixsyn/ops/layout.hpp"
#include "pixsyn/render/cuda_cips.hpp"
#include "pixsyn/render/tiled.hpp"
#include "support/cips_fixtures.hpp"

namespace {

using namespace pixsyn;
using namespace pixsyn::test;
using render::Precision;

// Widths that are not multiples of 8 take the scalar epilogue.
constexpr cips::Config odd_widths{.size = 8, .hidden = 6, .style_dim = 10, .mapping_layers = 1, .channels = {12, 5}};
// Multiples of 8 that leave the fused kernel's 256-column (fp32: 128-column) tiles partly empty (264 = 256 + 8
// = 2·128 + 8) and its 64-column (fp32: 32-column) store blocks ragged (40): the edges of its loads, stores and
// ToRGB partial sums. 20 and 40 inputs leave its 64-value (fp32: 32-value) k steps ragged.
constexpr cips::Config ragged_tiles{
    .size = 8, .hidden = 20, .style_dim = 16, .mapping_layers = 1, .channels = {264, 40, 264}};
constexpr cips::Config ragged_tiles_residual{.size = 8,
                                             .hidden = 20,
                                             .style_dim = 16,
                                             .mapping_layers = 1,
                                             .topology = cips::Topology::residual,
                                             .channels = {264, 40, 264}};

// fp32: max |got - want| / max |want|. bf16: ‖got - want‖₂ / ‖want‖₂ (single elements carry the bf16
// rounding of up to 15 layers; the max-norm ratio measured 0.5-1.3e-2).
double render_error(const Tensor<float>& got, const Tensor<float>& want, Precision precision) {
  return relative_error(got, want, precision == Precision::fp32 ? Norm::max : Norm::l2);
}

// The GPU paths: fp32 with the fused 3×TF32 Hopper kernels (sm90/fused_layer.cu, where the GPU has them),
// cuBLAS 3×TF32 or SGEMM GEMMs; bf16 with the fused Hopper kernels or cuBLAS.
struct Path {
  Precision precision;
  bool fused;
  int split;  // CudaRenderOptions::tf32_split
  const char* label;
};
constexpr Path paths[] = {{Precision::fp32, true, backend::cuda::default_split_accumulations, " fp32 fused 3xTF32"},
                          {Precision::fp32, false, backend::cuda::default_split_accumulations, " fp32 3xTF32"},
                          {Precision::fp32, false, 0, " fp32 SGEMM"},
                          {Precision::bf16, true, 0, " bf16 fused"},
                          {Precision::bf16, false, 0, " bf16 cuBLAS"}};

// The GPU render of g against the CPU render, for a few batch sizes, grids, noise modes and tilings.
template <cips::Config C>
void check_model(const cips::Generator<C>& g, const std::string& name, std::int64_t height, std::int64_t width,
                 std::size_t small_workspace = 1 << 20) {
  INFO(name);
  backend::cuda::set_poison_allocations(true);
  render::CudaCips<C> fast(g);
  for (std::int64_t batch : {1, 3}) {
    const auto w = g.map(Tensor<float>::randn({batch, C.style_dim}, Philox{std::uint64_t(batch)}));
    const auto grid = coords::grid<float>(height, width);
    for (auto noise : {cips::NoiseMode::off, cips::NoiseMode::seeded}) {
      const auto cpu = render::render_image(g, w, grid, render::RenderOptions<float>{.noise = noise, .noise_seed = 7});
      for (const auto& [precision, fused, split, label] : paths) {
        const double tolerance = precision == Precision::fp32 ? 1e-5 : 1e-2;
        render::CudaRenderOptions options{
            .precision = precision, .noise = noise, .noise_seed = 7, .fused_layers = fused, .tf32_split = split};
        const std::string what = "batch " + std::to_string(batch) +
                                 (noise == cips::NoiseMode::seeded ? " seeded noise" : " no noise") + label;
        INFO(what);
        const double one_tile = render_error(fast.render_image(w, grid, options), cpu, precision);
        MESSAGE(name << " " << what << ": " << one_tile);
        CHECK(one_tile <= tolerance);
        // The official grid from its linspace tables, twice (the second call replays the graph).
        for (int repeat = 0; repeat < 2; ++repeat)
          CHECK(render_error(to_host(fast.render_grid(to_device(w), height, width, options)).reshape(cpu.shape()), cpu,
                             precision) <= tolerance);
        // Many tiles, without a graph, and a workspace so small that the batch is split into chunks.
        options.max_pixels = 37;
        options.graph = false;
        CHECK(render_error(fast.render_image(w, grid, options), cpu, precision) <= tolerance);
        options.workspace_bytes = split > 0 ? 3 * small_workspace : small_workspace;  // split: 3 floats a weight
        options.max_pixels = 0;
        CHECK(render_error(fast.render_image(w, grid, options), cpu, precision) <= tolerance);
        // The rows from height / 3 on alone, their noise from first_point on: a band of a split render.
        const std::int64_t first = height / 3;
        options.first_point = static_cast<std::uint64_t>(first * width);
        const auto band = coords::grid_rect<float>(height, width, first, 0, height - first, width);
        CHECK(render_error(fast.render_image(w, band, options), slice(cpu, 2, first, height), precision) <= tolerance);
      }
    }
  }
  backend::cuda::set_poison_allocations(false);
}

template <cips::Config C>
void check_fixture(const std::string& name, std::int64_t height, std::int64_t width) {
  cips::Generator<C> g;
  g.load_state_dict(load_cips_fixture(name).weights);
  check_model(g, name, height, width);
}

// A fused path's render is deterministic: `want`'s pixels bit for bit, call after call, in other tilings too
// (a race would move them).
template <cips::Config C, class Points>
void check_deterministic(render::CudaCips<C>& fast, const Tensor<float>& w, const Points& grid,
                         render::CudaRenderOptions options, const Tensor<float>& want) {
  for (std::int64_t tile : {0, 640, 2048})
    for (int repeat = 0; repeat < 3; ++repeat) {
      options.max_pixels = tile;
      options.graph = repeat == 0;
      const auto again = fast.render_image(w, grid, options);
      CHECK(std::equal(again.data(), again.data() + again.numel(), want.data()));
    }
}

}  // namespace

TEST_CASE("cuda cips: the fast path equals the CPU generator on the PyTorch fixture models") {
  check_fixture<skips_native16>("skips_native16", 16, 16);
  check_fixture<residual_native16>("residual_native16", 16, 16);
  check_fixture<residual_grid20x12>("residual_grid20x12", 20, 12);
  check_fixture<skips_widths32>("skips_widths32", 24, 40);
}

TEST_CASE("cuda cips: the fast path equals the CPU generator on random-init models") {
  // 16 MiB holds one sample's folded weights of this model (13 MB in fp32; the split ones get 48 MiB), not three.
  check_model(cips::Skips<64>(3), "Skips<64>", 48, 64, 16 << 20);
  check_model(cips::Generator<odd_widths>(4), "odd widths", 9, 13);
  check_model(cips::Generator<ragged_tiles>(8), "widths 264, 40, 264", 11, 13);
  check_model(cips::Generator<ragged_tiles_residual>(9), "residual widths 264, 40, 264", 11, 13);
}

TEST_CASE("cuda cips: bf16 takes the fused Hopper layers where the GPU has them") {
  if (!backend::cuda::fused_layers_supported()) {
    MESSAGE("no sm_90a build or not a compute capability 9.0 GPU: the cuBLAS path is the only one");
    return;
  }
  // Both paths agree within bf16 rounding but not bit for bit: the fused kernel really ran.
  cips::Skips<64> g(5);
  render::CudaCips<cips::Skips<64>::config> fast(g);
  const auto w = g.map(Tensor<float>::randn({2, 512}, Philox{3}));
  const auto grid = coords::grid<float>(32, 40);
  const auto fused = fast.render_image(w, grid, {.precision = Precision::bf16});
  const auto cublas = fast.render_image(w, grid, {.precision = Precision::bf16, .fused_layers = false});
  const double difference = relative_error(fused, cublas, Norm::l2);
  MESSAGE("fused vs cuBLAS bf16: " << difference);
  CHECK(difference > 0);
  CHECK(difference <= 1e-2);
  check_deterministic(fast, w, grid, {.precision = Precision::bf16}, fused);
}

TEST_CASE("cuda cips: fp32 takes the 3xTF32 split GEMMs where the GPU has TF32 tensor cores") {
  if (backend::cuda::Context::instance().compute_capability() < 80) {
    MESSAGE("compute capability below 8.0: no TF32 tensor cores, fp32 uses SGEMM");
    return;
  }
  // The cuBLAS path against the CPU render, for 1, 2 and 4 accumulations: the default keeps the fp32 bound, one
  // accumulation (the fastest) a looser one (split_gemm.hpp). None equals SGEMM bit for bit: the split ran.
  cips::Skips<64> g(6);
  render::CudaCips<cips::Skips<64>::config> fast(g);
  const auto w = g.map(Tensor<float>::randn({2, 512}, Philox{4}));
  const auto grid = coords::grid<float>(32, 40);
  const auto cpu = render::render_image(g, w, grid);
  const auto sgemm = fast.render_image(w, grid, {.fused_layers = false, .tf32_split = 0});
  MESSAGE("fp32 SGEMM vs CPU: " << relative_error(sgemm, cpu, Norm::max));
  for (int accumulations : {1, 2, 4}) {
    const auto split = fast.render_image(w, grid, {.fused_layers = false, .tf32_split = accumulations});
    const double error = relative_error(split, cpu, Norm::max);
    MESSAGE("fp32 3xTF32, " << accumulations << " accumulations, vs CPU: " << error);
    CHECK(relative_error(split, sgemm, Norm::max) > 0);
    CHECK(error <= (accumulations >= backend::cuda::default_split_accumulations ? 1e-5 : 1e-4));
  }
}

TEST_CASE("cuda cips: fp32 takes the fused 3xTF32 layers where the GPU has them") {
  if (!backend::cuda::fused_layers_supported()) {
    MESSAGE("no sm_90a build or not a compute capability 9.0 GPU: fp32 takes the cuBLAS path");
    return;
  }
  // At the official widths (512, the first layer 1024 deep), 33 x 41 points (not a multiple of the kernel's
  // 128-row tiles): within the fp32 bound of the CPU render, and not bit for bit the cuBLAS split path's
  // result, so the fused kernel ran.
  cips::Skips<64> g(7);
  render::CudaCips<cips::Skips<64>::config> fast(g);
  const auto w = g.map(Tensor<float>::randn({2, 512}, Philox{5}));
  const auto grid = coords::grid<float>(33, 41);
  const render::CudaRenderOptions options{.noise = cips::NoiseMode::seeded, .noise_seed = 3};
  const auto cpu =
      render::render_image(g, w, grid, render::RenderOptions<float>{.noise = options.noise, .noise_seed = 3});
  const auto fused = fast.render_image(w, grid, options);
  auto cublas_options = options;
  cublas_options.fused_layers = false;
  const auto cublas = fast.render_image(w, grid, cublas_options);
  const double error = relative_error(fused, cpu, Norm::max);
  MESSAGE("fp32 fused 3xTF32 vs CPU: " << error
                                       << "; cuBLAS 3xTF32 vs CPU: " << relative_error(cublas, cpu, Norm::max));
  CHECK(error <= 1e-5);
  CHECK(relative_error(fused, cublas, Norm::max) > 0);
  check_deterministic(fast, w, grid, options, fused);
}

TEST_CASE("cuda cips: unsupported inputs are refused clearly") {
  cips::Generator<skips_native16> g(1);
  render::CudaCips<skips_native16> fast(g);
  const auto grid = coords::grid<float>(4, 4);
  CHECK_THROWS_WITH_AS(fast.render_image(Tensor<float>::zeros({2, 5}), grid), doctest::Contains("w has shape"), Error);
  CHECK_THROWS_WITH_AS(fast.render_image(Tensor<float>::zeros({2, 32}), grid,
                                         render::CudaRenderOptions{.noise = cips::NoiseMode::given}),
                       doctest::Contains("not supported on the fast path"), Error);
  CHECK_THROWS_WITH_AS(
      fast.render_image(Tensor<float>::zeros({1, 32}), grid, render::CudaRenderOptions{.workspace_bytes = 1000}),
      doctest::Contains("too small"), Error);
  CHECK_THROWS_WITH_AS(
      fast.render_image(Tensor<float>::zeros({1, 32}), grid, render::CudaRenderOptions{.tf32_split = 9}),
      doctest::Contains("tf32_split is 9"), Error);
}
