// Runs the pixsyn program as a subprocess and compares what it writes with the library's results.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <pixsyn/coords/grid.hpp>
#include <pixsyn/io/image.hpp>
#include <pixsyn/io/npy.hpp>
#include <pixsyn/models/cips.hpp>
#include <pixsyn/nn/serialize.hpp>
#include <pixsyn/render/tiled.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "run_pixsyn.hpp"

using namespace pixsyn;
using namespace pixsyn::test;
namespace fs = std::filesystem;

namespace {

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The library's render of a seeded size-16 cips-skips at H x W.
Tensor<float> library_render(const cips::Skips<16>& g, const Tensor<float>& z, std::int64_t h, std::int64_t w) {
  return render::render_image(g, g.map(z), coords::grid<float>(h, w));
}

void check_equal(const Tensor<float>& got, const Tensor<float>& want) {
  REQUIRE(got.shape() == want.shape());
  for (std::int64_t i = 0; i < want.numel(); ++i) REQUIRE(got.data()[i] == want.data()[i]);
}

}  // namespace

TEST_CASE("info prints the official parameter counts as its last line") {
  const std::pair<const char*, const char*> expected[] = {{"cips-skips", "parameters: 44317092"},
                                                          {"cips-res", "parameters: 43027858"},
                                                          {"cips-ne", "parameters: 10237860"},
                                                          {"cips-base", "parameters: 42864018"}};
  for (const auto& [name, last] : expected) {
    const Run run = pixsyn_ok(std::string("info --model ") + name + " --size 256");
    CHECK(run.lines.back() == last);
  }
}

TEST_CASE("info lists every parameter of the model") {
  const Run run = pixsyn_ok("info --model cips-skips --size 16");
  const cips::Skips<16> g;
  const auto params = g.named_parameters();
  // The table's rows are the parameters in state-dict order, each with its shape and size.
  auto row =
      std::find_if(run.lines.begin(), run.lines.end(), [](const std::string& l) { return l.rfind("name", 0) == 0; });
  REQUIRE(row != run.lines.end());
  for (const auto& [name, p] : params) {
    ++row;
    REQUIRE(row != run.lines.end());
    std::istringstream cells(*row);
    std::string cell;
    cells >> cell;
    CHECK(cell == name);
    CHECK(row->find(p->shape().to_string()) != std::string::npos);
    CHECK(row->substr(row->find_last_not_of(' ', row->size() - 1) - std::to_string(p->numel()).size() + 1) ==
          std::to_string(p->numel()));
  }
  CHECK(*++row == "parameters: " + std::to_string(g.parameter_count()));
}

TEST_CASE("render writes the library's images") {
  CliTempDir dir;
  const cips::Skips<16> g(3);

  SUBCASE("seeded latents, square and non-square") {
    const Run run = pixsyn_ok("render --model cips-skips --size 16 --init-seed 3 --seed 5 --batch 2 --npy " +
                              dir / "a.npy" + " --png " + dir / "a.png");
    CHECK(run.lines.front() == "note: no --weights given; using a random initialisation (seed 3)");
    CHECK(run.lines.back().find("pixels/s") != std::string::npos);
    const auto z = Tensor<float>::randn({2, 512}, Philox{5});
    check_equal(io::read_npy<float>(dir / "a.npy"), library_render(g, z, 16, 16));
    CHECK(io::read_image(dir / "a.png").shape() == Shape{3, 16, 32});

    pixsyn_ok(
        "render --model cips-skips --size 16 --init-seed 3 --seed 5 --batch 2 --height 12 --width 20 "
        "--npy " +
        dir / "b.npy");
    check_equal(io::read_npy<float>(dir / "b.npy"), library_render(g, z, 12, 20));
  }

  SUBCASE("latents from a file") {
    const auto z = Tensor<float>::randn({3, 512}, Philox{11});
    io::write_npy(dir / "z.npy", z);
    pixsyn_ok("render --model cips-skips --size 16 --init-seed 3 --latents " + dir / "z.npy" + " --npy " +
              dir / "z_images.npy");
    check_equal(io::read_npy<float>(dir / "z_images.npy"), library_render(g, z, 16, 16));
  }

  SUBCASE("a tiled render equals the one-shot render") {
    // One thread: Eigen picks its GEMM depth blocking, and so the rounding, from the number of threads it
    // uses, which depends on the product's size, so with several threads a tile can round differently.
    const std::string common = "render --model cips-skips --size 16 --init-seed 3 --batch 2 --height 8 --width 12";
    pixsyn_ok(common + " --npy " + dir / "whole.npy", "OMP_NUM_THREADS=1");
    const Run tiled = pixsyn_ok(common + " --tile 7 --npy " + dir / "tiled.npy", "OMP_NUM_THREADS=1");
    // Progress on a pipe: a plain line at each tenth of the 32 tiles, the last one at 100%.
    std::vector<std::string> progress;
    std::copy_if(tiled.lines.begin(), tiled.lines.end(), std::back_inserter(progress),
                 [](const std::string& l) { return l.rfind("render: ", 0) == 0; });
    CHECK(progress.size() == 10);
    CHECK(progress.back().rfind("render: 32/32 tiles (100%), ", 0) == 0);
    CHECK(file_bytes(dir / "tiled.npy") == file_bytes(dir / "whole.npy"));
  }

  SUBCASE("truncation and seeded noise") {
    pixsyn_ok(
        "render --model cips-skips --size 16 --init-seed 3 --seed 1 --batch 2 --truncation 0.5 "
        "--truncation-samples 64 --truncation-seed 9 --noise seeded --noise-seed 4 --npy " +
        dir / "t.npy");
    const auto w = cips::truncate(g.map(Tensor<float>::randn({2, 512}, Philox{1})), g.mean_w(64, Philox{9}), 0.5);
    const auto want =
        render::render_image(g, w, coords::grid<float>(16, 16),
                             render::RenderOptions<float>{.noise = nn::NoiseMode::seeded, .noise_seed = 4});
    check_equal(io::read_npy<float>(dir / "t.npy"), want);
  }

  SUBCASE("weights from a file") {
    const cips::Skips<16> trained(7);
    nn::save_safetensors(trained, dir / "skips16.safetensors");
    const Run run = pixsyn_ok("render --model cips-skips --size 16 --seed 5 --weights " + dir / "skips16.safetensors" +
                              " --npy " + dir / "w.npy");
    CHECK(run.lines.size() == 1);  // no note about a random initialisation
    check_equal(io::read_npy<float>(dir / "w.npy"),
                library_render(trained, Tensor<float>::randn({1, 512}, Philox{5}), 16, 16));
  }
}

TEST_CASE("errors give one clear line and a non-zero exit") {
  CliTempDir dir;
  SUBCASE("unknown model") {
    const Run run = pixsyn_cli("info --model cips-nope --size 16");
    check_one_error_line(
        run,
        "--model must be one of cips-skips, cips-res, cips-base, cips-ne, cips-nofourier, cips-sine, creps, "
        "creps-multi-d<N>, creps-single-d<N> (N = 1, 2, 4, 8, 16), creps-nb, alis, alis-nocoords (got cips-nope)");
    CHECK(run.code == 2);
  }
  SUBCASE("unknown size") {
    const Run run = pixsyn_cli("render --model cips-skips --size 48");
    check_one_error_line(run, "--size must be one of 16, 32, 64, 128, 256, 512, 1024 (got 48)");
    CHECK(run.code == 2);
  }
  SUBCASE("bad command line") {
    check_one_error_line(pixsyn_cli("render --model cips-skips"), "--size");
    check_one_error_line(pixsyn_cli("render --model cips-skips --size 16 --noise loud"),
                         "--noise must be one of off, seeded, random, const (got loud)");
    check_one_error_line(pixsyn_cli("render --model cips-skips --size 16 --latents z.npy --seed 3"), "excludes");
    check_one_error_line(pixsyn_cli("render --model cips-skips --size 16 --device tpu"),
                         "--device must be one of cpu, cuda (got tpu)");
  }
  SUBCASE("bf16 on the CPU") {
    const Run run = pixsyn_cli("render --model cips-skips --size 16 --precision bf16");
    check_one_error_line(run, "--precision bf16 needs --device cuda");
    CHECK(run.code == 2);
  }
  SUBCASE("--device cuda where it cannot run") {
#if PIXSYN_CLI_WITH_CUDA
    // Refused before the GPU is touched, so this needs no GPU.
    const Run run = pixsyn_cli("render --model cips-base --size 16 --device cuda");
    check_one_error_line(run, "model cips-base is not supported on the CUDA fast path; use --device cpu");
#else
    const Run run = pixsyn_cli("render --model cips-skips --size 16 --device cuda");
    check_one_error_line(run, "this pixsyn was built without CUDA (configure with -DPIXSYN_CUDA=ON)");
#endif
    CHECK(run.code == 2);
  }
  SUBCASE("latents of the wrong shape") {
    io::write_npy(dir / "z.npy", Tensor<float>::zeros({3, 7}));
    check_one_error_line(pixsyn_cli("render --model cips-skips --size 16 --latents " + dir / "z.npy"),
                         "has shape (3, 7); expected (batch, 512)");
  }
  SUBCASE("weights of another model") {
    const cips::Residual<16> residual(1);
    nn::save_safetensors(residual, dir / "res16.safetensors");
    const Run run = pixsyn_cli("render --model cips-skips --size 16 --weights " + dir / "res16.safetensors");
    CHECK(run.code != 0);
    REQUIRE(!run.lines.empty());
    // The first line names the problem; the lines after it list the offending keys.
    CHECK(run.lines[0].rfind("error: load_safetensors: '", 0) == 0);
    CHECK(run.lines[0].find("missing") != std::string::npos);
    CHECK(run.lines[0].find("unexpected") != std::string::npos);
    for (std::size_t i = 1; i < run.lines.size(); ++i) CHECK(run.lines[i].rfind("  ", 0) == 0);
  }
}
