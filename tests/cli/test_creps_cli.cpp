// The pixsyn program with CREPS models, the camera options (--shift-x, --shift-y, --zoom, --rotate) for
// CREPS and CIPS, and the consistency subcommand: what the program writes equals the library's calls.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>
#include <pixsyn/coords/axis_grid.hpp>
#include <pixsyn/coords/grid.hpp>
#include <pixsyn/coords/transform.hpp>
#include <pixsyn/io/npy.hpp>
#include <pixsyn/metrics/scale_consistency.hpp>
#include <pixsyn/models/cips.hpp>
#include <pixsyn/models/creps.hpp>
#include <pixsyn/nn/serialize.hpp>
#include <pixsyn/render/tiled.hpp>
#include <pixsyn/render/tiled_creps.hpp>
#include <sstream>
#include <string>

#include "run_pixsyn.hpp"

using namespace pixsyn;
using pixsyn::test::check_one_error_line;
using pixsyn::test::CliTempDir;
using pixsyn::test::pixsyn_cli;
using pixsyn::test::pixsyn_ok;
using pixsyn::test::Run;

namespace {

void check_equal(const Tensor<float>& got, const Tensor<float>& want) {
  REQUIRE(got.shape() == want.shape());
  for (std::int64_t i = 0; i < want.numel(); ++i) REQUIRE(got.data()[i] == want.data()[i]);
}

// A seeded size-16 official CREPS, as `--model creps --size 16` builds it (init seed 0).
const creps::Official<16>& official16() {
  static const creps::Official<16> g(0);
  return g;
}

Tensor<float> seeded_w(std::uint64_t seed, std::int64_t batch = 1) {
  return official16().map(Tensor<float>::randn({batch, 512}, Philox{seed}));
}

// The camera of docs/cli.md, written with the library's maps: zoom about the centre, rotate about it,
// then shift by fractions of the extent.
coords::Affine<float> camera(float centre, float extent, float shift_x, float shift_y, float zoom, double degrees) {
  const auto radians = static_cast<float>(degrees * std::numbers::pi / 180.0);
  return coords::compose(
      coords::shift(shift_x * extent, shift_y * extent),
      coords::compose(coords::rotation(radians, centre, centre), coords::zoom(zoom, centre, centre)));
}

}  // namespace

TEST_CASE("pixsyn info counts the official CREPS parameters") {
  const Run run256 = pixsyn_ok("info --model creps --size 256");
  CHECK(run256.lines.back() == "parameters: 30530825");
  CHECK(run256.lines.front() == "model:          creps-256");  // the model and its size
  const Run run512 = pixsyn_ok("info --model creps --size 512");
  CHECK(run512.lines.back() == "parameters: 30867785");
  // The ablations: the library's counts (docs/creps.md), and creps-multi-d8 is creps.
  CHECK(pixsyn_ok("info --model creps-multi-d8 --size 256").lines.back() == "parameters: 30530825");
  CHECK(pixsyn_ok("info --model creps-multi-d4 --size 256").lines.back() == "parameters: 26320137");
  CHECK(pixsyn_ok("info --model creps-single-d8 --size 256").lines.back() == "parameters: 30406217");
  CHECK(pixsyn_ok("info --model creps-nb --size 256").lines.back() == "parameters: 22511177");
}

TEST_CASE("pixsyn render with a CREPS model equals the library's render, any H x W and any scale") {
  CliTempDir dir;
  const auto& g = official16();
  SUBCASE("the training grid") {
    pixsyn_ok("render --model creps --size 16 --seed 3 --batch 2 --quiet --npy " + dir / "a.npy");
    check_equal(io::read_npy<float>(dir / "a.npy"), render::render_image(g, seeded_w(3, 2), coords::axis_grid(16, 16)));
  }
  SUBCASE("non-square: 12 row points, 20 column points over the same [0, 1] span") {
    pixsyn_ok("render --model creps --size 16 --seed 4 --height 12 --width 20 --quiet --npy " + dir / "b.npy");
    check_equal(io::read_npy<float>(dir / "b.npy"), render::render_image(g, seeded_w(4), coords::axis_grid(12, 20)));
  }
  SUBCASE("a higher scale: 31 points per side share every other coordinate with 16") {
    pixsyn_ok("render --model creps --size 16 --seed 5 --quiet --npy " + dir / "r.npy");
    pixsyn_ok("render --model creps --size 16 --seed 5 --height 31 --width 31 --quiet --npy " + dir / "r2.npy");
    const auto small = io::read_npy<float>(dir / "r.npy"), large = io::read_npy<float>(dir / "r2.npy");
    check_equal(large, render::render_image(g, seeded_w(5), coords::axis_grid(31, 31)));
    // linspace(0, 1, 31)[2i] is linspace(0, 1, 16)[i] up to float rounding.
    double worst = 0, scale = 0;
    for (std::int64_t c = 0; c < 3; ++c)
      for (std::int64_t i = 0; i < 16; ++i)
        for (std::int64_t j = 0; j < 16; ++j) {
          const float a = small.at({0, c, i, j}), b = large.at({0, c, 2 * i, 2 * j});
          worst = std::max(worst, double(std::abs(a - b)));
          scale = std::max(scale, double(std::abs(a)));
        }
    CHECK(worst <= 1e-4 * scale);
  }
  SUBCASE("the fp16 refinement emulation") {
    pixsyn_ok("render --model creps --size 16 --seed 6 --refinement fp16 --quiet --npy " + dir / "h.npy");
    const auto fp16 = io::read_npy<float>(dir / "h.npy");
    check_equal(
        fp16, render::render_image(g, seeded_w(6), coords::axis_grid(16, 16), {.refinement = creps::Precision::fp16}));
    // It is not the fp32 render.
    const auto fp32 = render::render_image(g, seeded_w(6), coords::axis_grid(16, 16));
    bool differs = false;
    for (std::int64_t i = 0; i < fp32.numel(); ++i) differs |= fp32.data()[i] != fp16.data()[i];
    CHECK(differs);
  }
  SUBCASE("the other variants") {
    pixsyn_ok("render --model creps-single-d2 --size 16 --seed 7 --height 9 --width 13 --quiet --npy " + dir / "s.npy");
    check_equal(io::read_npy<float>(dir / "s.npy"),
                render::render_image(creps::SingleDecoder<16, 2>(0),
                                     creps::SingleDecoder<16, 2>(0).map(Tensor<float>::randn({1, 512}, Philox{7})),
                                     coords::axis_grid(9, 13)));
    const creps::NoBiline<16> nb(0);
    pixsyn_ok("render --model creps-nb --size 16 --seed 8 --height 5 --width 7 --quiet --npy " + dir / "nb.npy");
    check_equal(io::read_npy<float>(dir / "nb.npy"),
                render::render_image(nb, nb.map(Tensor<float>::randn({1, 512}, Philox{8})), coords::axis_grid(5, 7)));
  }
}

TEST_CASE("CREPS truncation pulls w toward the loaded mapping.w_avg buffer") {
  CliTempDir dir;
  creps::Official<16> g(0);
  g.mapping.w_avg.fill(0);
  Philox gen{11};
  const auto avg = Tensor<float>::randn({512}, gen);
  std::copy(avg.data(), avg.data() + 512, g.mapping.w_avg.data());
  nn::save_safetensors(g, dir / "g.safetensors");
  pixsyn_ok("render --model creps --size 16 --seed 9 --truncation 0.5 --quiet --weights " + dir / "g.safetensors" +
            " --npy " + dir / "t.npy");
  const auto w = creps::truncate(g.map(Tensor<float>::randn({1, 512}, Philox{9})), g.w_avg(), 0.5);
  check_equal(io::read_npy<float>(dir / "t.npy"), render::render_image(g, w, coords::axis_grid(16, 16)));
}

TEST_CASE("--shift-x, --shift-y, --zoom and --rotate equal the library's maps, for CREPS and CIPS") {
  CliTempDir dir;
  const std::string camera_flags = " --shift-x 0.25 --shift-y -0.125 --zoom 2.5";
  SUBCASE("CREPS: shift and zoom move the row and column vectors") {
    pixsyn_ok("render --model creps --size 16 --seed 1 --height 10 --width 14 --quiet" + camera_flags + " --npy " +
              dir / "s.npy");
    const auto map = camera(0.5f, 1.0f, 0.25f, -0.125f, 2.5f, 0.0);
    check_equal(io::read_npy<float>(dir / "s.npy"),
                render::render_image(official16(), seeded_w(1), coords::transform(map, coords::axis_grid(10, 14))));
  }
  SUBCASE("CREPS: a rotation renders every pixel as a point") {
    pixsyn_ok("render --model creps --size 16 --seed 2 --height 10 --width 14 --rotate 30 --quiet" + camera_flags +
              " --npy " + dir / "r.npy");
    const auto map = camera(0.5f, 1.0f, 0.25f, -0.125f, 2.5f, 30.0);
    const auto points = coords::transform(map, coords::to_points(coords::axis_grid(10, 14)));
    check_equal(io::read_npy<float>(dir / "r.npy"),
                render::to_images(render::render_points(official16(), seeded_w(2), points), 10, 14));
  }
  SUBCASE("CIPS: the grid's points move") {
    const cips::Skips<16> g(0);
    pixsyn_ok("render --model cips-skips --size 16 --seed 3 --height 10 --width 14 --rotate -40 --quiet" +
              camera_flags + " --npy " + dir / "c.npy");
    const auto map = camera(0.0f, 2.0f, 0.25f, -0.125f, 2.5f, -40.0);
    check_equal(io::read_npy<float>(dir / "c.npy"),
                render::render_image(g, g.map(Tensor<float>::randn({1, 512}, Philox{3})),
                                     coords::transform(map, coords::grid<float>(10, 14))));
  }
}

TEST_CASE("--rotate 90 turns the content a quarter counter-clockwise on screen") {
  // Independent of the maps: the turned render is the plain render with rows and columns permuted
  // (np.rot90), up to the float rounding of the turned coordinates.
  CliTempDir dir;
  for (const std::string model : {"creps", "cips-skips"}) {
    CAPTURE(model);
    pixsyn_ok("render --model " + model + " --size 16 --seed 4 --quiet --npy " + dir / "plain.npy");
    pixsyn_ok("render --model " + model + " --size 16 --seed 4 --rotate 90 --quiet --npy " + dir / "turned.npy");
    const auto plain = io::read_npy<float>(dir / "plain.npy"), turned = io::read_npy<float>(dir / "turned.npy");
    double worst = 0, scale = 0;
    for (std::int64_t c = 0; c < 3; ++c)
      for (std::int64_t i = 0; i < 16; ++i)
        for (std::int64_t j = 0; j < 16; ++j) {
          worst = std::max(worst, double(std::abs(turned.at({0, c, i, j}) - plain.at({0, c, j, 15 - i}))));
          scale = std::max(scale, double(std::abs(plain.at({0, c, j, 15 - i}))));
        }
    CHECK(worst <= 1e-3 * scale);
  }
}

TEST_CASE("CREPS errors name the problem") {
  check_one_error_line(pixsyn_cli("render --model creps-multi-d3 --size 16"),
                       "creps-multi-d3 is not registered; the registered creps-multi-d<N> are creps-multi-d1, "
                       "creps-multi-d2, creps-multi-d4, creps-multi-d8, creps-multi-d16");
  check_one_error_line(pixsyn_cli("info --model creps --size 48"),
                       "--size must be one of 16, 32, 64, 128, 256, 512, 1024 (got 48)");
  for (const std::string zoom : {"0", "nan", "-1"})
    check_one_error_line(pixsyn_cli("render --model creps --size 16 --zoom " + zoom),
                         "--zoom must be a finite number between 1e-06 and 1e+06 (got " + zoom + ")");
  check_one_error_line(pixsyn_cli("render --model creps --size 16 --noise seeded"), "creps has no noise inputs");
#if PIXSYN_CLI_WITH_CUDA
  // Refused before the GPU is touched, so these need no GPU.
  check_one_error_line(pixsyn_cli("render --model creps-nb --size 16 --device cuda"),
                       "model creps-nb is not supported on the CUDA fast path; use --device cpu");
  check_one_error_line(
      pixsyn_cli("render --model creps --size 16 --device cuda --refinement fp16"),
      "--refinement fp16 is emulated on the CPU only; on the GPU, --precision bf16 is the 16-bit mode");
#endif
  CliTempDir dir;
  nn::save_safetensors(creps::MultiDecoder<16, 4>(0), dir / "d4.safetensors");
  const Run run = pixsyn_cli("render --model creps --size 16 --weights " + dir / "d4.safetensors");
  CHECK(run.code == 1);
  CHECK(run.output.find("wrongly shaped") != std::string::npos);
}

TEST_CASE("pixsyn consistency equals metrics::scale_consistency on the same renders") {
  CliTempDir dir;
  const Run run = pixsyn_ok("consistency --model creps --size 16 --n 3 --seed 2 --batch 2 --quiet");
  const auto& g = official16();
  const auto z = Tensor<float>::randn({3, 512}, Philox{2});
  const auto result = metrics::scale_consistency(
      [&](std::int64_t first, std::int64_t count, std::int64_t size) {
        return render::render_image(g, g.map(z.narrow(first, count).clone()), coords::axis_grid(size, size));
      },
      3, 16);
  char expected[96];
  std::snprintf(expected, sizeof expected, "psnr: %.4f ssim: %.6f", result.psnr, result.ssim);
  CHECK(run.lines.back() == expected);
  CHECK(result.psnr > 10);  // a smooth random model is consistent, but not identical, across scales
  CHECK(result.ssim < 1);

  // CIPS: 2R points over [-1, 1].
  const Run cips = pixsyn_ok("consistency --model cips-skips --size 16 --n 2 --seed 1 --quiet");
  const cips::Skips<16> c(0);
  const auto zc = Tensor<float>::randn({2, 512}, Philox{1});
  const auto rc = metrics::scale_consistency(
      [&](std::int64_t first, std::int64_t count, std::int64_t size) {
        return render::render_image(c, c.map(zc.narrow(first, count).clone()), coords::grid<float>(size, size));
      },
      2, 16);
  std::snprintf(expected, sizeof expected, "psnr: %.4f ssim: %.6f", rc.psnr, rc.ssim);
  CHECK(cips.lines.back() == expected);
}
