// `pixsyn train --patch --device cuda`: CIPS's patch training on the GPU (the learned embedding's gradient through
// grid_sample_adjoint) runs a few steps with finite losses and writes a G_ema that renders full images. Built only
// when the pixsyn program is (tools/CMakeLists.txt defines PIXSYN_CLI).
#ifdef PIXSYN_CLI
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "pixsyn/io/image.hpp"
#include "pixsyn/io/npy.hpp"
#include "support/pixsyn_cli.hpp"
#include "support/temp_files.hpp"

namespace {

using namespace pixsyn;
using namespace pixsyn::test;

}  // namespace

TEST_CASE("pixsyn train --patch --device cuda: CIPS trains on patches on the GPU with finite losses") {
  TempDir dir;
  std::filesystem::create_directories(dir / "data");
  for (int i = 0; i < 8; ++i)
    io::write_png(dir / ("data/image" + std::to_string(i) + ".png"),
                  Tensor<float>::rand({3, 32, 32}, Philox{std::uint64_t(i)}));
  pixsyn_ok(dir, "train --size 32 --max-channels 16 --batch 4 --patch 16 --steps 3 --device cuda --quiet --data " +
                     (dir / "data").string() + " --out " + (dir / "run").string());
  std::ifstream log(dir / "run/log.csv");
  std::string line;
  REQUIRE(std::getline(log, line));
  CHECK(line.rfind("step,loss_g,loss_d,", 0) == 0);
  int steps = 0;
  while (std::getline(log, line)) {
    CAPTURE(line);
    std::istringstream fields(line);
    std::string step, loss_g, loss_d;
    REQUIRE(std::getline(fields, step, ','));
    REQUIRE(std::getline(fields, loss_g, ','));
    REQUIRE(std::getline(fields, loss_d, ','));
    CHECK(std::isfinite(std::stod(loss_g)));
    CHECK(std::isfinite(std::stod(loss_d)));
    ++steps;
  }
  CHECK(steps == 3);
  pixsyn_ok(dir, "render --weights " + (dir / "run/g_ema.safetensors").string() + " --seed 1 --quiet --npy " +
                     (dir / "r.npy").string());
  const auto images = io::read_npy<float>((dir / "r.npy").string());
  REQUIRE(images.shape() == Shape{1, 3, 32, 32});
  for (float v : images.to_vector()) REQUIRE(std::isfinite(v));
}
#endif
