// The pixsyn program on hostile input: sizes, non-finite numbers, outputs that name inputs, links,
// FIFOs and devices, failing outputs, and its progress report. Through the real program.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <pixsyn/coords/grid.hpp>
#include <pixsyn/io/npy.hpp>
#include <pixsyn/models/cips.hpp>
#include <pixsyn/nn/serialize.hpp>
#include <pixsyn/render/tiled.hpp>
#include <string>
#include <thread>
#include <vector>

#include "run_pixsyn.hpp"
#include "support/temp_files.hpp"

using namespace pixsyn;
using namespace pixsyn::test;
using pixsyn::test::read_bytes;
namespace fs = std::filesystem;

namespace {

const std::string skips16 = "render --model cips-skips --size 16 ";

// Whether this build (and so the program, built alike) runs under AddressSanitizer.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool address_sanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool address_sanitizer = true;
#else
constexpr bool address_sanitizer = false;
#endif
#else
constexpr bool address_sanitizer = false;
#endif

std::vector<std::string> entries(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(folder)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// A device node in the test's folder (a private copy of /dev/null or /dev/full), so that a program that
// wrongly replaced it could never touch the system's own; false where device nodes cannot be made.
bool make_device(const std::string& path, unsigned minor) {
  return ::mknod(path.c_str(), S_IFCHR | 0666, makedev(1, minor)) == 0;
}

std::size_t count_lines_starting(const Run& run, const std::string& prefix) {
  return static_cast<std::size_t>(
      std::count_if(run.lines.begin(), run.lines.end(), [&](const std::string& l) { return l.rfind(prefix, 0) == 0; }));
}

}  // namespace

TEST_CASE("sizes out of range are refused in one short line, before any work") {
  const std::pair<std::string, std::string> cases[] = {
      {"--height 0", "error: --height must be an integer between 1 and 65536 (got 0)"},
      {"--height 4611686018427387904",
       "error: --height must be an integer between 1 and 65536 (got 4611686018427387904)"},
      {"--width 65537", "error: --width must be an integer between 1 and 65536 (got 65537)"},
      {"--batch 0", "error: --batch must be an integer between 1 and 65536 (got 0)"},
      {"--tile 99999999999", "error: --tile must be an integer between 1 and 16777216 (got 99999999999)"},
      {"--seed -1", "error: --seed must be an integer between 0 and 18446744073709551615 (got -1)"},
      {"--truncation nan", "error: --truncation must be a finite number between -100 and 100 (got nan)"},
      {"--truncation inf", "error: --truncation must be a finite number between -100 and 100 (got inf)"},
  };
  for (const auto& [options, message] : cases) {
    const Run run = pixsyn_cli(skips16 + options);
    INFO(run.output);
    CHECK(run.code == 2);
    REQUIRE(run.lines.size() == 1);
    CHECK(run.lines[0] == message);
    CHECK(run.lines[0].size() <= 100);
  }
}

TEST_CASE("a render too large for the memory is refused with the bytes it needs") {
  // 64 images of 65536 x 65536: 6 TiB of floats, refused before the model is even loaded.
  const Run huge = pixsyn_cli(skips16 + "--height 65536 --width 65536 --batch 64");
  CHECK(huge.code == 1);
  REQUIRE(huge.lines.size() == 1);
  CHECK(huge.lines[0].rfind("error: rendering 64 images of 65536x65536 needs at least ", 0) == 0);
  CHECK(huge.lines[0].find(" bytes (6.0 TiB) of memory; this machine allows ") != std::string::npos);

  // Under an address-space limit of 3000000 KiB, four 8192 x 8192 images (3 GiB of floats) do not fit.
  // (Not under AddressSanitizer, whose shadow memory alone reserves terabytes of address space.)
  if (!address_sanitizer) {
    const Run limited = pixsyn_cli(skips16 + "--height 8192 --width 8192 --batch 4", "ulimit -v 3000000;");
    CHECK(limited.code == 1);
    REQUIRE(limited.lines.size() == 1);
    CHECK(limited.lines[0].find("needs at least ") != std::string::npos);
    CHECK(limited.lines[0].find("this machine allows 3072000000 bytes (2.9 GiB)") != std::string::npos);
  }

  // A PNG grid beyond what the PNG writer can address is refused before rendering too.
  CliTempDir dir;
  const Run png = pixsyn_cli(skips16 + "--height 30000 --width 30000 --png " + dir / "big.png");
  check_one_error_line(png, "--png: a grid of 1 x 1 images of 30000x30000 is more than a PNG can be written with");
}

TEST_CASE("non-finite latents are refused, naming the first bad value") {
  CliTempDir dir;
  auto z = Tensor<float>::randn({3, 512}, Philox{1});
  z.data()[1 * 512 + 7] = std::numeric_limits<float>::quiet_NaN();
  z.data()[2 * 512 + 0] = std::numeric_limits<float>::infinity();
  io::write_npy(dir / "z.npy", z);
  check_one_error_line(pixsyn_cli(skips16 + "--latents " + dir / "z.npy"),
                       "--latents '" + dir / "z.npy" + "' holds nan at (1, 7); latents must be finite");
  // A float64 value beyond float's range is an infinity once read.
  auto big = Tensor<double>::zeros({1, 512});
  big.data()[300] = 1e300;
  io::write_npy(dir / "big.npy", big);
  check_one_error_line(pixsyn_cli(skips16 + "--latents " + dir / "big.npy"), "holds inf at (0, 300)");
}

TEST_CASE("a render with a non-finite value fails naming it, and writes nothing") {
  CliTempDir dir;
  // Finite weights whose ToRGB biases, summed by the skips topology, overflow to infinity.
  cips::Skips<16> g(2);
  for (const auto& [name, p] : g.named_parameters()) {
    if (name.rfind("to_rgbs.", 0) != 0 || name.find(".bias") == std::string::npos ||
        name.find("modulation") != std::string::npos)
      continue;
    auto value = p->value().clone();
    for (std::int64_t i = 0; i < value.numel(); ++i) value.data()[i] = 3e38f;
    p->set_value(value);
  }
  nn::save_safetensors(g, dir / "w.safetensors");
  const Run run = pixsyn_cli(skips16 + "--weights " + dir / "w.safetensors" + " --npy " + dir / "out.npy" + " --png " +
                             dir / "out.png");
  check_one_error_line(run, "error: the render holds inf at sample 0, channel 0, row 0, column 0; nothing was written");
  CHECK(run.code == 1);
  CHECK(entries(dir.path) == std::vector<std::string>{"w.safetensors"});
}

TEST_CASE("an output that is an input is refused, by name, symlink or hard link") {
  CliTempDir dir;
  io::write_npy(dir / "z.npy", Tensor<float>::randn({1, 512}, Philox{2}));
  const std::string before = read_bytes(dir / "z.npy");
  fs::create_symlink(dir / "z.npy", dir / "link.npy");
  fs::create_hard_link(dir / "z.npy", dir / "hard.npy");
  for (const std::string name : {"z.npy", "link.npy", "hard.npy"}) {
    CAPTURE(name);
    check_one_error_line(pixsyn_cli(skips16 + "--latents " + dir / "z.npy" + " --npy " + dir / name),
                         "--npy '" + dir / name + "' and --latents '" + dir / "z.npy" + "' are the same file");
  }
  const cips::Skips<16> g(1);
  nn::save_safetensors(g, dir / "w.safetensors");
  check_one_error_line(pixsyn_cli(skips16 + "--weights " + dir / "w.safetensors" + " --png " + dir / "w.safetensors"),
                       "are the same file");
  check_one_error_line(pixsyn_cli(skips16 + "--npy " + dir / "a.out" + " --png " + dir / "a.out"), "are the same file");
  CHECK(read_bytes(dir / "z.npy") == before);
  CHECK(entries(dir.path) == std::vector<std::string>{"hard.npy", "link.npy", "w.safetensors", "z.npy"});
}

TEST_CASE("bad output paths are refused before rendering") {
  CliTempDir dir;
  fs::create_directories(dir / "folder");
  check_one_error_line(pixsyn_cli(skips16 + "--npy " + dir / "missing/out.npy"),
                       "--npy '" + dir / "missing/out.npy" + "': folder '" + dir / "missing" + "' does not exist");
  check_one_error_line(pixsyn_cli(skips16 + "--png " + dir / "folder"), "is a folder");
}

TEST_CASE("outputs are written through symlinks and into FIFOs, never replacing them") {
  CliTempDir dir;
  pixsyn_ok(skips16 + "--seed 4 --npy " + dir / "want.npy");
  const std::string want = read_bytes(dir / "want.npy");

  SUBCASE("a symlink") {
    fs::create_directories(dir / "real");
    write_bytes(dir / "real/out.npy", "old");
    fs::create_symlink("real/out.npy", dir / "link.npy");
    pixsyn_ok(skips16 + "--seed 4 --npy " + dir / "link.npy");
    CHECK(fs::is_symlink(dir / "link.npy"));
    CHECK(read_bytes(dir / "real/out.npy") == want);
    CHECK(entries(dir / "real") == std::vector<std::string>{"out.npy"});
  }
  SUBCASE("a FIFO") {
    REQUIRE(::mkfifo((dir / "pipe").c_str(), 0600) == 0);
    std::string received;
    std::thread reader([&] { received = read_bytes(dir / "pipe"); });
    pixsyn_ok(skips16 + "--seed 4 --npy " + dir / "pipe");
    reader.join();
    CHECK(received == want);
    CHECK(fs::is_fifo(dir / "pipe"));
  }
  SUBCASE("a character device") {
    if (!make_device(dir / "null", 3)) {
      MESSAGE("skipped: cannot create a device node here");
      return;
    }
    pixsyn_ok(skips16 + "--seed 4 --npy " + dir / "null");
    CHECK(fs::is_character_file(dir / "null"));
  }
  CHECK(std::none_of(fs::directory_iterator(dir.path), fs::directory_iterator(), [](const fs::directory_entry& e) {
    return e.path().filename().string().find(".tmp.") != std::string::npos;
  }));
}

TEST_CASE("--npy /dev/stdout writes the images to the standard output, and the summary to stderr") {
  CliTempDir dir;
  pixsyn_ok(skips16 + "--seed 4 --npy " + dir / "want.npy");
  const std::string render = std::string(PIXSYN_CLI) + " " + skips16 + "--seed 4 --npy /dev/stdout 2>" + dir / "log";
  // A pipe is written directly; a file that the shell opened is replaced through /proc/self/fd/1.
  REQUIRE(std::system((render + " | cat > " + dir / "piped.npy").c_str()) == 0);
  REQUIRE(std::system((render + " > " + dir / "redirected.npy").c_str()) == 0);
  CHECK(read_bytes(dir / "piped.npy") == read_bytes(dir / "want.npy"));
  CHECK(read_bytes(dir / "redirected.npy") == read_bytes(dir / "want.npy"));
  CHECK(read_bytes(dir / "log").find("rendered 1 image of 16x16") != std::string::npos);
}

TEST_CASE("a failing PNG leaves no output of the set, not even the .npy") {
  CliTempDir dir;
  // A private /dev/full: every write to it fails with ENOSPC, after the images were rendered and staged.
  if (!make_device(dir / "full", 7)) {
    MESSAGE("skipped: cannot create a device node here");
    return;
  }
  write_bytes(dir / "old.npy", "old");
  const Run run = pixsyn_cli(skips16 + "--npy " + dir / "new.npy" + " --png " + dir / "full");
  INFO(run.output);
  CHECK(run.code == 1);
  CHECK(run.lines.back() == "error: --png '" + dir / "full" + "': cannot write: No space left on device");
  CHECK(entries(dir.path) == std::vector<std::string>{"full", "old.npy"});

  const Run replace = pixsyn_cli(skips16 + "--npy " + dir / "old.npy" + " --png " + dir / "full");
  CHECK(replace.code == 1);
  CHECK(read_bytes(dir / "old.npy") == "old");
  CHECK(entries(dir.path) == std::vector<std::string>{"full", "old.npy"});
  CHECK(fs::is_character_file(dir / "full"));
}

TEST_CASE("progress: plain lines on a pipe, none with --quiet") {
  const std::string tiled = skips16 + "--batch 2 --height 16 --width 16 --tile 16";  // 32 tiles
  const Run shown = pixsyn_ok(tiled);
  CHECK(count_lines_starting(shown, "render: ") == 10);
  CHECK(shown.output.find('\r') == std::string::npos);
  const Run quiet = pixsyn_ok(tiled + " --quiet");
  CHECK(count_lines_starting(quiet, "render: ") == 0);
  CHECK(quiet.lines.size() == 3);  // the two notes and the summary
}

TEST_CASE("a render ended by SIGTERM dies by that signal and leaves the old output alone") {
  CliTempDir dir;
  write_bytes(dir / "out.npy", "old");
  const std::string out = dir / "out.npy";
  // Killed once the render is under way: the first of its 4 tiles is done.
  const int status = terminate_once_started({"render", "--model", "cips-skips", "--size", "16", "--height", "32",
                                             "--width", "32", "--tile", "256", "--npy", out},
                                            "render: ");
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGTERM);
  CHECK(entries(dir.path) == std::vector<std::string>{"out.npy"});
  CHECK(read_bytes(dir / "out.npy") == "old");
}
