// pixsyn fid, eval, spectrum and plot (docs/evaluation.md): the output's form (counts, kid, fid last), unreadable
// images skipped and counted, the feature cache, and bad input. The metric's values are checked in
// tests/inception and tests/metrics; here they only have to be finite and ordered where that is certain.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <pixsyn/core/philox.hpp>
#include <pixsyn/io/image.hpp>
#include <string>

#include "run_pixsyn.hpp"
#include "support/inception.hpp"

using namespace pixsyn;
using namespace pixsyn::test;

namespace {

// `count` images of 24x20: smooth gradients with a per-image phase, or uniform noise.
void write_images(const std::filesystem::path& dir, int count, bool noise, std::uint64_t seed) {
  std::filesystem::create_directories(dir);
  for (int i = 0; i < count; ++i) {
    auto image = Tensor<float>::rand({3, 24, 20}, Philox{seed + static_cast<std::uint64_t>(i), 0});
    if (!noise)
      for (std::int64_t k = 0; k < image.numel(); ++k)
        image.data()[k] = 0.5f + 0.4f * std::sin(0.3f * static_cast<float>(k % 20 + i) + static_cast<float>(k / 480));
    io::write_png(dir / ("image" + std::to_string(i) + ".png"), image);
  }
}

double value_of(const std::string& line, const std::string& key) {
  REQUIRE(line.rfind(key + ": ", 0) == 0);
  return std::stod(line.substr(key.size() + 2));
}

}  // namespace

TEST_CASE("pixsyn fid: counts, kid, fid last; unreadable images skipped and counted; the feature cache") {
  if (!inception_weights_available()) return;
  CliTempDir dir;
  write_images(dir / "a", 5, false, 1);
  write_images(dir / "b", 5, true, 2);
  std::ofstream(dir / "b/broken.png") << "not a png";
  const std::string cache = "PIXSYN_FEATURE_CACHE=" + dir / "cache";
  const auto run = pixsyn_ok("fid " + dir / "a" + " " + dir / "b" + " -q --kid-subsets 5", cache);
  INFO(run.output);
  REQUIRE(run.lines.size() >= 5);
  CHECK(run.output.find("a: 5 images from '" + dir / "a" + "'") != std::string::npos);
  CHECK(run.output.find("b: 5 images from '" + dir / "b" + "' (1 unreadable, skipped)") != std::string::npos);
  CHECK(run.output.find("FID-IncV3-mixed5") != std::string::npos);
  CHECK(run.output.find("never with published FIDs") != std::string::npos);
  CHECK(run.output.find("warning: a has 5 samples, fewer than the 769") != std::string::npos);
  const double fid = value_of(run.lines.back(), "fid");
  const double kid = value_of(run.lines[run.lines.size() - 2], "kid");
  CHECK(std::isfinite(kid));
  CHECK(fid > 0);
  // Two feature files now; a second run reads them (no warning about the broken file) and prints the same.
  CHECK(std::distance(std::filesystem::directory_iterator(dir / "cache"), {}) == 2);
  const auto again = pixsyn_ok("fid " + dir / "a" + " " + dir / "b" + " -q --kid-subsets 5", cache);
  CHECK(again.output.find("skipping an unreadable image") == std::string::npos);
  CHECK(again.lines.back() == run.lines.back());
  // A folder against itself: 0.
  CHECK(value_of(pixsyn_ok("fid " + dir / "a" + " " + dir / "a" + " -q --kid-subsets 2", cache).lines.back(), "fid") <
        1e-6);
}

TEST_CASE("pixsyn eval and spectrum: a random CIPS against Fashion-MNIST") {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    MESSAGE("dataset-fashion-mnist is not installed (tools/install-deps.sh installs it); skipped");
    return;
  }
  CliTempDir dir;
  const auto spectrum =
      pixsyn_ok("spectrum --model cips-skips --size 16 --data fashion-mnist --n 4 -q --out " + dir / "s.png");
  std::ifstream csv(dir / "s.csv");
  int rows = 0;
  for (std::string line; std::getline(csv, line);) ++rows;
  CHECK(rows == 1 + 9);  // the header and rings 0 .. 8 of 16x16 images
  CHECK(io::read_image(dir / "s.png").shape() == Shape{3, 400, 640});
  if (!inception_weights_available()) return;
  const auto run = pixsyn_ok("eval --model cips-skips --size 16 --data fashion-mnist --n 4 -q --no-cache");
  INFO(run.output);
  CHECK(run.output.find("a: 4 images of cips-skips-16 (random initialisation), seed 0") != std::string::npos);
  CHECK(run.output.find("b: 4 images from '/usr/share/datasets/fashion-mnist/") != std::string::npos);
  CHECK(value_of(run.lines.back(), "fid") > 0);
}

TEST_CASE("pixsyn fid refuses missing folders, empty folders and a missing network by name") {
  CliTempDir dir;
  std::filesystem::create_directories(dir / "empty");
  write_images(dir / "a", 2, false, 1);
  const std::string weights = "PIXSYN_INCEPTION_DIR=" + dir / "nowhere";
  check_one_error_line(pixsyn_cli("fid " + dir / "a" + " " + dir / "a" + " -q", weights),
                       "run tools/data/inception.sh " + dir / "nowhere");
  if (!inception_weights_available()) return;
  check_one_error_line(pixsyn_cli("fid " + dir / "missing" + " " + dir / "a" + " -q --no-cache"),
                       "does not exist or is not a folder");
  check_one_error_line(pixsyn_cli("fid " + dir / "empty" + " " + dir / "a" + " -q --no-cache"),
                       "holds no .png, .jpg or .jpeg file");
#if !PIXSYN_CLI_WITH_CUDA
  check_one_error_line(pixsyn_cli("fid " + dir / "a" + " " + dir / "a" + " --device cuda"), "built without CUDA");
#endif
}

TEST_CASE("pixsyn plot draws log.csv columns against the step, leaving out the rows a column has no value in") {
  CliTempDir dir;
  std::ofstream(dir / "log.csv") << "step,loss,fid\n0,4,0\n5,2,\n10,1,10\n";
  const auto run = pixsyn_ok("plot " + dir / "log.csv" + " --column fid --out " + dir / "fid.png");
  INFO(run.output);
  REQUIRE(run.lines.size() == 2);
  CHECK(run.lines[1] == "fid (red): 2 points, first 0 at 0, last 10 at 10, least 0 at 0");
  // 640 x 400 with a margin of 30: (0, 0) is pixel (30, 370) and (10, 10) pixel (610, 30); the line between
  // them is straight, so the step-5 row (empty) was left out rather than read as 0.
  const auto image = io::read_image(dir / "fid.png");
  REQUIRE(image.shape() == Shape{3, 400, 640});
  const auto red = [&](std::int64_t x, std::int64_t y) {
    return image.data()[y * 640 + x] > 0.8f && image.data()[(2 * 400 + y) * 640 + x] < 0.2f;
  };
  CHECK(red(610, 30));
  CHECK(red(30, 370));
  CHECK(red(320, 200));
  CHECK(!red(320, 370));
  check_one_error_line(pixsyn_cli("plot " + dir / "log.csv" + " --column step2 --out " + dir / "p.png"),
                       "has no column 'step2'; its columns: step,loss,fid");
  std::ofstream(dir / "bad.csv") << "step,fid\n1,2\n2,x\n";
  check_one_error_line(pixsyn_cli("plot " + dir / "bad.csv" + " --column fid --out " + dir / "p.png"),
                       "line 3: column 'fid' holds 'x', not a finite number");
  check_one_error_line(pixsyn_cli("plot " + dir / "bad.csv" + " --column fid --out " + dir / "bad.csv"),
                       "are the same file");
}
