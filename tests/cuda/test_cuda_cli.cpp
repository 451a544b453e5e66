// `pixsyn render --device cuda` (the fused GPU renderer behind the command line) against the program's own
// CPU render: fp32 ≤ 1e-5 and bf16 ≤ 1e-2 relative, seeded noise, one tile and many. Built only when the
// pixsyn program is (tools/CMakeLists.txt defines PIXSYN_CLI).
#ifdef PIXSYN_CLI
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>

#include "pixsyn/io/npy.hpp"

namespace {

using namespace pixsyn;
namespace fs = std::filesystem;

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("pixsyn_test_cuda_cli_" + std::to_string(getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

// Runs `pixsyn args` and requires success, showing its output otherwise.
void pixsyn_ok(const TempDir& dir, const std::string& args) {
  const std::string log = dir / "log.txt";
  const int status = std::system((std::string(PIXSYN_CLI) + " " + args + " >" + log + " 2>&1").c_str());
  std::ifstream in(log);
  INFO("pixsyn ", args, "\n", std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
  REQUIRE(status == 0);
}

// fp32: max |got - want| / max |want|; bf16: ‖got - want‖₂ / ‖want‖₂ (as in test_cuda_cips.cpp). NaN never passes.
double relative_error(const Tensor<float>& got, const Tensor<float>& want, bool max_norm) {
  REQUIRE(got.shape() == want.shape());
  double err = 0, scale = std::numeric_limits<double>::min();
  for (std::int64_t i = 0; i < want.numel(); ++i) {
    const double d = std::abs(double(got.data()[i]) - double(want.data()[i])), r = std::abs(double(want.data()[i]));
    if (std::isnan(d)) return std::numeric_limits<double>::infinity();
    err = max_norm ? std::max(err, d) : err + d * d;
    scale = max_norm ? std::max(scale, r) : scale + r * r;
  }
  return max_norm ? err / scale : std::sqrt(err / scale);
}

}  // namespace

TEST_CASE("pixsyn render --device cuda writes the CPU's images") {
  TempDir dir;
  for (const std::string model : {"cips-skips", "cips-res"}) {
    CAPTURE(model);
    const std::string common = "render --model " + model +
                               " --size 16 --init-seed 3 --seed 5 --batch 2 --height 12 --width 20 --noise seeded "
                               "--noise-seed 4 --npy ";
    pixsyn_ok(dir, common + dir / "cpu.npy");
    const auto want = io::read_npy<float>(dir / "cpu.npy");
    pixsyn_ok(dir, common + dir / "fp32.npy" + " --device cuda");
    CHECK(relative_error(io::read_npy<float>(dir / "fp32.npy"), want, true) <= 1e-5);
    pixsyn_ok(dir, common + dir / "tiled.npy" + " --device cuda --tile 50");
    CHECK(relative_error(io::read_npy<float>(dir / "tiled.npy"), want, true) <= 1e-5);
    pixsyn_ok(dir, common + dir / "bf16.npy" + " --device cuda --precision bf16");
    CHECK(relative_error(io::read_npy<float>(dir / "bf16.npy"), want, false) <= 1e-2);
  }
}
#endif
