// `pixsyn render --device cuda` (the fused GPU renderer behind the command line) against the program's own
// CPU render: fp32 ≤ 1e-5 and bf16 ≤ 1e-2 relative, seeded noise, one tile and many. Built only when the
// pixsyn program is (tools/CMakeLists.txt defines PIXSYN_CLI).
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

}  // namespace

TEST_CASE("pixsyn render --device cuda writes the CPU's images") {
  TempDir dir;
  const auto npy = [&](const std::string& name) { return (dir / (name + ".npy")).string(); };
  for (const std::string model : {"cips-skips", "cips-res"}) {
    CAPTURE(model);
    const std::string common = "render --model " + model +
                               " --size 16 --init-seed 3 --seed 5 --batch 2 --height 12 --width 20 --noise seeded "
                               "--noise-seed 4 --npy ";
    pixsyn_ok(dir, common + npy("cpu"));
    const auto want = io::read_npy<float>(npy("cpu"));
    pixsyn_ok(dir, common + npy("fp32") + " --device cuda");
    CHECK(relative_error(io::read_npy<float>(npy("fp32")), want) <= 1e-5);
    pixsyn_ok(dir, common + npy("tiled") + " --device cuda --tile 50");
    CHECK(relative_error(io::read_npy<float>(npy("tiled")), want) <= 1e-5);
    // bf16 in the L2 norm, as in test_cuda_cips.cpp: single elements carry the rounding of every layer.
    pixsyn_ok(dir, common + npy("bf16") + " --device cuda --precision bf16");
    CHECK(relative_error(io::read_npy<float>(npy("bf16")), want, Norm::l2) <= 1e-2);
  }
}
#endif
