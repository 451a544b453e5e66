// `pixsyn render --device cuda` (the fused GPU renderers behind the command line) against the program's own
// CPU render: CIPS fp32 ≤ 1e-5 and bf16 ≤ 1e-2 relative, seeded noise, one tile and many, the narrow CIPS that
// pixsyn train writes too; CREPS at official widths fp32 within the bound of its 3×TF32 GEMMs' error (below)
// and the 16-bit mode ≤ 1e-2 (max norm) with the camera options; ALIS fp32 ≤ 1e-5 and bf16 ≤ 1e-2; `pixsyn
// eval --device cuda` scores the images the CPU renders; `pixsyn panorama --device cuda` (fp32, bf16) the CPU's
// panorama; `pixsyn train --device cuda --eval-every` scores G_ema
// on the GPU as pixsyn eval --device cuda does. Built only when the pixsyn program is (tools/CMakeLists.txt
// defines PIXSYN_CLI).
#ifdef PIXSYN_CLI
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>

#include "pixsyn/io/image.hpp"
#include "pixsyn/io/npy.hpp"
#include "pixsyn/models/alis.hpp"
#include "pixsyn/render/alis_panorama.hpp"
#include "support/cips_fixtures.hpp"
#include "support/inception.hpp"
#include "support/pixsyn_cli.hpp"
#include "support/temp_files.hpp"

namespace {

using namespace pixsyn;
using namespace pixsyn::test;

// Runs `pixsyn args --npy NAME.npy extra` in dir and reads the images back.
Tensor<float> render_npy(const TempDir& dir, const std::string& args, const std::string& name,
                         const std::string& extra = "") {
  const auto path = (dir / (name + ".npy")).string();
  pixsyn_ok(dir, args + " --npy " + path + extra);
  return io::read_npy<float>(path);
}

// The last "fid: " line of what `pixsyn args` printed into dir/log.txt.
double fid_of(const TempDir& dir, const std::string& args) {
  pixsyn_ok(dir, args);
  const std::string log = read_bytes(dir / "log.txt");
  const auto at = log.rfind("fid: ");
  REQUIRE(at != std::string::npos);
  return std::stod(log.substr(at + 5));
}

// `count` PNGs of uniform noise, height x width, into a new folder: data to train on or score against.
void write_noise_pngs(const std::filesystem::path& folder, std::uint64_t count, std::int64_t height,
                      std::int64_t width) {
  std::filesystem::create_directories(folder);
  for (std::uint64_t i = 0; i < count; ++i)
    io::write_png(folder / (std::to_string(i) + ".png"), Tensor<float>::rand({3, height, width}, Philox{i}));
}

// Field `column` (from 0) of the last row of a CSV file.
std::string last_row_field(const std::filesystem::path& csv, int column) {
  std::stringstream rows(read_bytes(csv));
  std::string row, last;
  while (std::getline(rows, row))
    if (!row.empty()) last = row;
  std::stringstream fields(last);
  std::string field;
  for (int i = 0; i <= column; ++i) std::getline(fields, field, ',');
  return field;
}

}  // namespace

TEST_CASE("pixsyn eval --device cuda renders on the GPU the images the CPU renders, --infinite too") {
  if (!inception_weights_available()) return;
  TempDir dir;
  write_noise_pngs(dir / "real", 3, 40, 48);
  for (const std::string model : {"--model cips-skips --size 16", "--model alis --size 16",
                                  "--model alis --size 16 --infinite", "--model creps --size 16"}) {
    CAPTURE(model);
    const std::string common = "eval -q --no-cache --kid-subsets 2 --n 4 --seed 2 --init-seed 3 --data " +
                               (dir / "real").string() + " " + model;
    std::filesystem::remove_all(dir / "cpu");
    std::filesystem::remove_all(dir / "gpu");
    const double cpu = fid_of(dir, common + " --save-images " + (dir / "cpu").string());
    const double gpu = fid_of(dir, common + " --device cuda --save-images " + (dir / "gpu").string());
    // Rendered on the GPU: no note that the CPU renders.
    CHECK(read_bytes(dir / "log.txt").find("rendered on the CPU") == std::string::npos);
    CHECK(std::abs(gpu - cpu) <= 1e-3 * std::abs(cpu));
    // The same images, 8-bit: float rounding flips a level at most.
    for (int i = 0; i < 4; ++i) {
      const std::string name = "image-00000" + std::to_string(i) + ".png";
      const auto a = io::read_image(dir / "cpu" / name), b = io::read_image(dir / "gpu" / name);
      REQUIRE(a.shape() == b.shape());
      float most = 0;
      for (std::int64_t k = 0; k < a.numel(); ++k) most = std::max(most, std::abs(a.data()[k] - b.data()[k]));
      CHECK(most <= 1.5f / 255);
    }
  }
}

TEST_CASE("pixsyn train --device cuda --eval-every scores G_ema on the GPU, as pixsyn eval --device cuda does") {
  if (!inception_weights_available()) return;
  TempDir dir;
  write_noise_pngs(dir / "data", 3, 32, 32);
  // The data's features go to a cache of this test's own (train has no --no-cache).
  struct Cache {
    explicit Cache(const std::string& path) { ::setenv("PIXSYN_FEATURE_CACHE", path.c_str(), 1); }
    ~Cache() { ::unsetenv("PIXSYN_FEATURE_CACHE"); }
  } cache((dir / "cache").string());
  for (const std::string model : {"cips-skips", "alis", "creps"}) {
    CAPTURE(model);
    const auto run = dir / ("run-" + model);
    pixsyn_ok(dir, "train --device cuda --model " + model +
                       " --size 32 --max-channels 16 --batch 2 --steps 2 --eval-every 2 --eval-n 4 --data " +
                       (dir / "data").string() + " --out " + run.string());
    const std::string log = read_bytes(dir / "log.txt");
    CHECK(log.find("rendered on the CPU") == std::string::npos);
    CHECK(log.find("(step 2, scored in ") != std::string::npos);
    // The last row's fid_incv3_mixed5 (column 5): pixsyn eval's score of the run's G_ema.
    const double logged = std::stod(last_row_field(run / "log.csv", 5));
    const double eval = fid_of(dir, "eval -q --device cuda --n 4 --weights " + (run / "g_ema.safetensors").string() +
                                        " --data " + (dir / "data").string());
    CHECK(read_bytes(dir / "log.txt").find("rendered on the CPU") == std::string::npos);
    // Both print 6 significant digits.
    CHECK(std::abs(logged - eval) <= 1e-5 * std::abs(eval));
  }
}

TEST_CASE("pixsyn render --device cuda writes the CPU's images") {
  TempDir dir;
  for (const std::string model : {"cips-skips", "cips-res"}) {
    CAPTURE(model);
    const std::string common = "render --model " + model +
                               " --size 16 --init-seed 3 --seed 5 --batch 2 --height 12 --width 20 --noise seeded "
                               "--noise-seed 4";
    const auto want = render_npy(dir, common, "cpu");
    CHECK(relative_error(render_npy(dir, common, "fp32", " --device cuda"), want) <= 1e-5);
    CHECK(relative_error(render_npy(dir, common, "tiled", " --device cuda --tile 50"), want) <= 1e-5);
    // bf16 in the L2 norm, as in test_cuda_cips.cpp: single elements carry the rounding of every layer.
    CHECK(relative_error(render_npy(dir, common, "bf16", " --device cuda --precision bf16"), want, Norm::l2) <= 1e-2);
  }
}

TEST_CASE("pixsyn render --device cuda renders the narrow CIPS that pixsyn train writes as the CPU does") {
  TempDir dir;
  write_noise_pngs(dir / "data", 2, 32, 32);
  pixsyn_ok(dir, "train --size 32 --max-channels 16 --batch 2 --steps 1 --quiet --data " + (dir / "data").string() +
                     " --out " + (dir / "run").string());
  const std::string common = "render --weights " + (dir / "run/g_ema.safetensors").string() +
                             " --seed 5 --batch 2 --height 12 --width 20 --noise seeded --noise-seed 4 --quiet";
  const auto want = render_npy(dir, common, "cpu");
  CHECK(relative_error(render_npy(dir, common, "fp32", " --device cuda"), want) <= 1e-5);
  CHECK(relative_error(render_npy(dir, common, "bf16", " --device cuda --precision bf16"), want, Norm::l2) <= 1e-2);
}

TEST_CASE("pixsyn render --device cuda with ALIS writes the CPU's frames, bf16 within 1e-2") {
  TempDir dir;
  for (const std::string model : {"alis", "alis-nocoords"}) {
    CAPTURE(model);
    const std::string common = "render --model " + model +
                               " --size 16 --init-seed 3 --seed 5 --batch 2 --delta 3 --noise seeded --noise-seed 4 "
                               "--quiet";
    const auto want = render_npy(dir, common, "cpu");
    CHECK(relative_error(render_npy(dir, common, "fp32", " --device cuda"), want) <= 1e-5);
    // The bf16 bound (bf16 convolution operands, fp32 accumulation), max norm as in test_cuda_alis.cpp.
    CHECK(relative_error(render_npy(dir, common, "bf16", " --device cuda --precision bf16"), want) <= 1e-2);
  }
}

TEST_CASE("pixsyn panorama --device cuda writes the CPU's panorama, bf16 within 1e-2") {
  // Three strips with seeded noise, the frames through the recorded forward (render::AlisFrameRenderer). The PNG
  // maps v in [-1, 1] to round(127.5 v + 127.5), clamped: an error e of the values moves a byte by at most
  // 127.5 e + 1 (the rounding). The bounds are those of the render test above, relative to the largest |value| of
  // the CPU's frames (from the library, as the program draws them: test_alis_cli.cpp checks that).
  TempDir dir;
  const std::string common =
      "panorama --model alis --size 16 --init-seed 3 --seed 5 --frames 10 --noise seeded --noise-seed 4 --quiet";
  const alis::Official<16> g(3);
  const render::AlisPanorama<alis::Official<16>> pano(g, 10, {.seed = 5},
                                                      {.noise = alis::NoiseMode::seeded, .noise_seed = 4});
  double largest = 0;
  for (const auto& frame : pano)
    for (const float v : frame.image.to_vector()) largest = std::max(largest, double(std::abs(v)));
  const auto png = [&](const std::string& name, const std::string& extra) {
    const auto path = dir / (name + ".png");
    pixsyn_ok(dir, common + " --png " + path.string() + extra);
    return io::read_image(path);
  };
  // The largest byte difference of two PNGs of the same size.
  const auto byte_difference = [](const Tensor<float>& a, const Tensor<float>& b) {
    REQUIRE(a.shape() == b.shape());
    double most = 0;
    for (std::int64_t i = 0; i < a.numel(); ++i)
      most = std::max(most, std::abs(double(a.data()[i]) - double(b.data()[i])) * 255);
    return std::lround(most);
  };
  const auto want = png("cpu", "");
  CHECK(byte_difference(png("fp32", " --device cuda"), want) <= std::lround(std::floor(127.5 * 1e-5 * largest + 1)));
  CHECK(read_bytes(dir / "log.txt").find("on the GPU (fp32)") != std::string::npos);
  CHECK(byte_difference(png("bf16", " --device cuda --precision bf16"), want) <=
        std::lround(std::floor(127.5 * 1e-2 * largest + 1)));
  CHECK(read_bytes(dir / "log.txt").find("on the GPU (bf16)") != std::string::npos);
}

// The fp32 bound of the CREPS renders, from the error of the path they take (render::CudaCreps, fp32): the
// bi-line GEMMs are 3×TF32 split GEMMs whose head products are summed in two accumulations
// (backend/cuda/split_gemm.hpp, default_split_accumulations). These models have the official widths, every block
// 1024 wide, so each accumulation sums 512 head products on the tensor cores' fp32 accumulator, which behaves as if
// truncated at every k-step: docs/cuda.md measured 1.7e-6 of the largest output for one such sum (k = 512, one
// accumulation, small terms first; SGEMM 6.5e-7), biased toward zero, so that it adds up along a chain of layers
// instead of averaging out. At 16² an axis's embedding passes six 1024-deep GEMMs (b4.fc1, fc0 and fc1 of b8 and
// b16, the ToRes of b16), and each pixel multiplies a row embedding by a column embedding: 2 · 6 · 1.7e-6. The
// CPU's own fp32 error adds 2.2e-6 (its render of these models against the same weights in double). The narrow
// models of test_cuda_creps.cpp (at most 64 wide: 32-deep accumulations) keep 1e-5 against double.
constexpr double tf32_sum_error = 1.7e-6, cpu_fp32_error = 2.2e-6;
constexpr int deep_gemms_per_axis = 6;
constexpr double creps_fp32_bound = 2 * deep_gemms_per_axis * tf32_sum_error + cpu_fp32_error;  // 2.3e-5

TEST_CASE("pixsyn render --device cuda with CREPS models writes the CPU's images, the camera included") {
  TempDir dir;
  for (const std::string model : {"creps", "creps-single-d4"}) {
    // A non-square grid, a shifted and zoomed one (separable), and a rotated one (a point set).
    for (const std::string camera : {"", " --shift-x 0.25 --zoom 1.5", " --rotate 30 --shift-y -0.1"}) {
      CAPTURE(model);
      CAPTURE(camera);
      const std::string common = "render --model " + model +
                                 " --size 16 --init-seed 3 --seed 5 --batch 2 --height 12 --width 20 --quiet" + camera;
      const auto want = render_npy(dir, common, "cpu");
      const double fp32 = relative_error(render_npy(dir, common, "fp32", " --device cuda"), want);
      MESSAGE(model << camera << ": fp32 " << fp32);
      CHECK(fp32 <= creps_fp32_bound);
      // The 16-bit mode (fp16 operands for CREPS): the bound, max norm as in test_cuda_creps.cpp.
      CHECK(relative_error(render_npy(dir, common, "bf16", " --device cuda --precision bf16"), want) <= 1e-2);
    }
  }
}
#endif
