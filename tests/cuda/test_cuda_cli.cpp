// `pixsyn render --device cuda` (the fused GPU renderers behind the command line) against the program's own
// CPU render: CIPS fp32 ≤ 1e-5 and bf16 ≤ 1e-2 relative, seeded noise, one tile and many; CREPS fp32 ≤ 1e-5
// and the 16-bit mode ≤ 1e-2 (max norm) with the camera options. Built only when the pixsyn program is
// (tools/CMakeLists.txt defines PIXSYN_CLI).
#ifdef PIXSYN_CLI
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "pixsyn/io/npy.hpp"
#include "support/cips_fixtures.hpp"
#include "support/temp_files.hpp"

namespace {

using namespace pixsyn;
using namespace pixsyn::test;

// Runs `pixsyn args` and requires success, showing its output otherwise.
void pixsyn_ok(const TempDir& dir, const std::string& args) {
  const auto log = dir / "log.txt";
  const int status = std::system((std::string(PIXSYN_CLI) + " " + args + " >" + log.string() + " 2>&1").c_str());
  INFO("pixsyn ", args, "\n", read_bytes(log));
  REQUIRE(status == 0);
}

// Runs `pixsyn args --npy NAME.npy extra` in dir and reads the images back.
Tensor<float> render_npy(const TempDir& dir, const std::string& args, const std::string& name,
                         const std::string& extra = "") {
  const auto path = (dir / (name + ".npy")).string();
  pixsyn_ok(dir, args + " --npy " + path + extra);
  return io::read_npy<float>(path);
}

}  // namespace

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
      CHECK(relative_error(render_npy(dir, common, "fp32", " --device cuda"), want) <= 1e-5);
      // The 16-bit mode (fp16 operands for CREPS): the bound, max norm as in test_cuda_creps.cpp.
      CHECK(relative_error(render_npy(dir, common, "bf16", " --device cuda --precision bf16"), want) <= 1e-2);
    }
  }
}
#endif
