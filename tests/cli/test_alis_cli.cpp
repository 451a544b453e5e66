// The pixsyn program with ALIS models: info, render (seeded or given anchors, --delta, noise) and
// panorama (streamed PNG, a resampled anchor): what the program writes equals the library's calls; eval
// --infinite (ALIS's ∞-FID) scores the panorama's frames.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <pixsyn/io/image.hpp>
#include <pixsyn/io/npy.hpp>
#include <pixsyn/models/alis.hpp>
#include <pixsyn/nn/serialize.hpp>
#include <pixsyn/render/alis_panorama.hpp>
#include <string>
#include <vector>

#include "run_pixsyn.hpp"
#include "support/inception.hpp"

using namespace pixsyn;
using pixsyn::test::check_one_error_line;
using pixsyn::test::CliTempDir;
using pixsyn::test::pixsyn_cli;
using pixsyn::test::pixsyn_ok;
using pixsyn::test::Run;

namespace {

// `--model alis --size 16` with the default init seed 0.
const alis::Official<16>& official16() {
  static const alis::Official<16> g(0);
  return g;
}

void check_equal(const Tensor<float>& got, const Tensor<float>& want) {
  REQUIRE(got.shape() == want.shape());
  for (std::int64_t i = 0; i < want.numel(); ++i) REQUIRE(got.data()[i] == want.data()[i]);
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
  return out;
}

}  // namespace

TEST_CASE("pixsyn info counts the official ALIS parameters") {
  CHECK(pixsyn_ok("info --model alis --size 256").lines.back() == "parameters: 24111298");
  CHECK(pixsyn_ok("info --model alis-nocoords --size 256").lines.back() == "parameters: 23191522");
}

TEST_CASE("pixsyn render with ALIS equals the library's frames") {
  CliTempDir dir;
  const auto& g = official16();
  SUBCASE("seeded anchors, truncation, a left border") {
    pixsyn_ok("render --model alis --size 16 --seed 5 --batch 2 --delta 3 --truncation 0.7 --quiet --npy " +
              dir / "a.npy");
    const auto z = Tensor<float>::randn({2, 3, 512}, Philox{5});
    check_equal(io::read_npy<float>(dir / "a.npy"), g.generate(z, {3}, 0.7));
  }
  SUBCASE("given anchors, constant and seeded noise") {
    const auto z = Tensor<float>::randn({1, 3, 512}, Philox{8});
    io::write_npy(dir / "z.npy", z);
    pixsyn_ok("render --model alis --size 16 --anchors " + dir / "z.npy" + " --delta 6 --noise const --quiet --npy " +
              dir / "c.npy");
    check_equal(io::read_npy<float>(dir / "c.npy"), g.synthesize(g.map(z), {6}, {.noise = alis::NoiseMode::constant}));
    pixsyn_ok("render --model alis --size 16 --anchors " + dir / "z.npy" +
              " --noise random --noise-seed 4 --quiet --npy " + dir / "r.npy");
    check_equal(io::read_npy<float>(dir / "r.npy"),
                g.synthesize(g.map(z), {0}, {.noise = alis::NoiseMode::seeded, .seed = 4}));
  }
}

TEST_CASE("pixsyn render draws a narrow ALIS as pixsyn train writes it, from the weights' metadata") {
  CliTempDir dir;
  const alis::Narrow<32, 16> g(7);
  nn::save_safetensors(g, dir / "g.safetensors",
                       {{"format", "pixsyn"}, {"model", "alis"}, {"size", "32"}, {"max_channels", "16"}});
  pixsyn_ok("render --seed 5 --batch 2 --delta 2 --quiet --npy " + dir / "a.npy" + " --weights " +
            dir / "g.safetensors");
  check_equal(io::read_npy<float>(dir / "a.npy"), g.generate(Tensor<float>::randn({2, 3, 16}, Philox{5}), {2}));
  // A width pixsyn does not train has no type to load into.
  nn::save_safetensors(g, dir / "w24.safetensors",
                       {{"format", "pixsyn"}, {"model", "alis"}, {"size", "32"}, {"max_channels", "24"}});
  check_one_error_line(pixsyn_cli("render --quiet --weights " + dir / "w24.safetensors"), "max_channels 24");
}

TEST_CASE("bad ALIS renders are refused in one line") {
  CliTempDir dir;
  io::write_npy(dir / "two.npy", Tensor<float>::zeros({1, 2, 512}));
  io::write_npy(dir / "short.npy", Tensor<float>::zeros({1, 3, 64}));
  check_one_error_line(pixsyn_cli("render --model alis --size 16 --anchors " + dir / "two.npy"),
                       "has shape (1, 2, 512); expected (batch, 3, 512)");
  check_one_error_line(pixsyn_cli("render --model alis --size 16 --anchors " + dir / "short.npy"),
                       "expected (batch, 3, 512)");
  check_one_error_line(pixsyn_cli("render --model alis --size 16 --delta 7"), "--delta must be between 0 and 6");
  check_one_error_line(pixsyn_cli("render --model alis --size 16 --width 32"), "--width does not apply to alis");
  check_one_error_line(pixsyn_cli("render --model alis --size 16 --latents " + dir / "two.npy"), "--anchors");
  check_one_error_line(pixsyn_cli("render --model cips-skips --size 16 --delta 1"), "--delta applies to models");
  check_one_error_line(pixsyn_cli("render --model cips-skips --size 16 --noise const"), "--noise const");
  CHECK(entries(dir.path.string()).size() == 2);
}

TEST_CASE("pixsyn panorama streams the library's panorama, and a resampled anchor") {
  CliTempDir dir;
  const auto& g = official16();
  pixsyn_ok("panorama --model alis --size 16 --frames 5 --seed 3 --quiet --png " + dir / "p.png");
  render::write_panorama_png(render::AlisPanorama(g, 5, {.seed = 3}), dir / "want.png");
  CHECK(file_bytes(dir / "p.png") == file_bytes(dir / "want.png"));
  pixsyn_ok("panorama --model alis --size 16 --frames 5 --seed 3 --precision fp32 --quiet --png " + dir / "fp32.png");
  CHECK(file_bytes(dir / "fp32.png") == file_bytes(dir / "want.png"));
  pixsyn_ok(
      "panorama --model alis --size 16 --frames 5 --seed 3 --resample-anchor 2 --anchor-seed 9 --line-frames "
      "2 --noise random --quiet --png " +
      dir / "r.png");
  render::write_panorama_png(
      render::AlisPanorama(g, 5, {.seed = 3, .resampled = {{2, 9}}}, {.noise = alis::NoiseMode::seeded}),
      dir / "want_r.png", {.line_frames = 2});
  CHECK(file_bytes(dir / "r.png") == file_bytes(dir / "want_r.png"));
}

TEST_CASE("bad panoramas are refused in one line, and write nothing") {
  CliTempDir dir;
  check_one_error_line(pixsyn_cli("panorama --model alis --size 16 --frames 0 --png " + dir / "p.png"), "--frames");
  check_one_error_line(pixsyn_cli("panorama --model alis --size 16 --frames 4 --resample-anchor 3 --anchor-seed 1 "
                                  "--png " +
                                  dir / "p.png"),
                       "--resample-anchor must be between 0 and 2");
  check_one_error_line(pixsyn_cli("panorama --model cips-skips --size 16 --frames 4 --png " + dir / "p.png"),
                       "use --model alis");
  check_one_error_line(pixsyn_cli("panorama --model alis --size 16 --frames 4 --png " + dir / "no/p.png"), "no");
  check_one_error_line(pixsyn_cli("panorama --model alis --size 16 --frames 4 --precision bf16 --png " + dir / "p.png"),
                       "--precision bf16 needs --device cuda (the CPU renders in fp32)");
  check_one_error_line(pixsyn_cli("panorama --model alis --size 16 --frames 4 --precision fp16 --png " + dir / "p.png"),
                       "--precision must be one of fp32, bf16 (got fp16)");
  CHECK(entries(dir.path.string()).empty());
}

TEST_CASE("a panorama ended by SIGTERM leaves no file under the target name, nor its scratch files") {
  CliTempDir dir;
  const std::string out = dir / "p.png";
  // Killed once frames are being written: the first tenth is reported (about 20 s of work remain).
  const int status = pixsyn::test::terminate_once_started(
      {"panorama", "--model", "alis", "--size", "16", "--frames", "40", "--png", out}, "panorama: ");
  CHECK(WIFSIGNALED(status));
  CHECK(entries(dir.path.string()).empty());
}

TEST_CASE("pixsyn eval --infinite scores the consecutive frames of one panorama, and only of models with anchors") {
  if (!pixsyn::test::inception_weights_available()) return;
  CliTempDir dir;
  const alis::Narrow<32, 16> g(3);
  const std::string weights = dir / "g.safetensors";
  nn::save_safetensors(g, weights, {{"format", "pixsyn"}, {"model", "alis"}, {"size", "32"}, {"max_channels", "16"}});
  std::filesystem::create_directories(dir / "real");
  for (std::uint64_t i = 0; i < 2; ++i)
    io::write_png(dir / ("real/" + std::to_string(i) + ".png"), Tensor<float>::rand({3, 32, 32}, Philox{i}));
  const std::string common = "eval -q --no-cache --kid-subsets 2 --weights " + weights + " --data " + dir / "real";
  const auto run = pixsyn_ok(common + " --infinite --n 3 --seed 4 --save-images " + dir / "frames");
  INFO(run.output);
  CHECK(run.output.find("a: 3 consecutive frames of one panorama of alis-32 (max_channels 16) from '" + weights +
                        "', seed 4") != std::string::npos);
  REQUIRE(run.lines.size() >= 2);
  CHECK(run.lines.back().rfind("fid: ", 0) == 0);
  CHECK(std::isfinite(std::stod(run.lines.back().substr(5))));
  // The frames scored are those of pixsyn panorama for the seed, left to right, and no more.
  pixsyn_ok("panorama -q --frames 3 --seed 4 --weights " + weights + " --png " + dir / "pano.png");
  const auto pano = io::read_image(dir / "pano.png");
  REQUIRE(pano.shape() == Shape{3, 32, 96});
  CHECK(std::distance(std::filesystem::directory_iterator(dir / "frames"), {}) == 3);
  for (std::int64_t f = 0; f < 3; ++f) {
    CAPTURE(f);
    const auto frame = io::read_image(dir / ("frames/image-00000" + std::to_string(f) + ".png"));
    check_equal(frame, slice(pano, 2, 32 * f, 32 * (f + 1)).clone());
  }
  // An output folder that holds something is refused before any work; so is --infinite without anchors.
  check_one_error_line(pixsyn_cli(common + " --infinite --n 3 --save-images " + dir / "frames"),
                       "--save-images '" + dir / "frames" + "' is not empty; give a new folder");
  check_one_error_line(pixsyn_cli("eval -q --infinite --model cips-skips --size 16 --n 3 --data " + dir / "real"),
                       "--infinite cuts a panorama into frames: it applies to models with anchors (alis), not to "
                       "cips-skips");
}
