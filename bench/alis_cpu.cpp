// bench_alis_cpu: ALIS on the CPU. (1) The frame time of alis::Official<256> (24,111,298 parameters,
// seeded random init, noise off). (2) Streaming panoramas of 256² frames written to a PNG with
// render::write_panorama_png: peak resident memory (VmHWM) after N frames, for growing N in one process,
// so a flat column means memory does not grow with the panorama. The panorama model is alis::Official<256>
// unless --narrow, which keeps the released layout at 256² but with blocks at most 16 channels wide
// (a frame in milliseconds instead of seconds: the long panoramas become affordable on a small CPU).
//
//   bench_alis_cpu [--frames 10,100,1000] [--narrow] [--out DIR] [--skip-official]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <pixsyn/models/alis.hpp>
#include <pixsyn/render/alis_panorama.hpp>
#include <string>
#include <vector>

#include "bench_build_info.hpp"
#include "support.hpp"

using namespace pixsyn;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

template <class G>
void panoramas(const G& g, const std::vector<int>& counts, const std::filesystem::path& dir, const char* label) {
  std::printf("\n%s: panorama PNGs of 256x256 frames (anchors every 2 frames), one process\n", label);
  std::printf(
      "| frames | width px | s | s/frame | PNG bytes | VmHWM MiB | VmRSS MiB "
      "|\n|---:|---:|---:|---:|---:|---:|---:|\n");
  for (int n : counts) {
    const render::AlisPanorama<G> pano(g, n, {.seed = 1});
    const auto path = dir / ("alis_pano_" + std::to_string(n) + ".png");
    const auto start = Clock::now();
    render::write_panorama_png(pano, path);
    const double s = seconds_since(start);
    std::printf("| %d | %lld | %.1f | %.3f | %llu | %.1f | %.1f |\n", n, static_cast<long long>(pano.width()), s, s / n,
                static_cast<unsigned long long>(std::filesystem::file_size(path)), bench::status_kib("VmHWM") / 1024.0,
                bench::status_kib("VmRSS") / 1024.0);
    std::fflush(stdout);
    std::filesystem::remove(path);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> counts{10, 100, 1000};
  bool narrow = false, official_frame = true;
  std::filesystem::path dir = std::filesystem::temp_directory_path();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--frames" && i + 1 < argc)
      counts = bench::parse_list(argv[++i]);
    else if (a == "--narrow")
      narrow = true;
    else if (a == "--skip-official")
      official_frame = false;
    else if (a == "--out" && i + 1 < argc)
      dir = argv[++i];
    else {
      std::fprintf(stderr, "usage: bench_alis_cpu [--frames 10,100,1000] [--narrow] [--out DIR] [--skip-official]\n");
      return 2;
    }
  }
  std::printf("bench_alis_cpu  compiler %s  flags %s\n", PIXSYN_BENCH_COMPILER, PIXSYN_BENCH_FLAGS);
  const alis::Official<256> official(0);
  std::printf("model alis::Official<256>: %lld parameters; VmRSS %.1f MiB after construction\n",
              static_cast<long long>(official.parameter_count()), bench::status_kib("VmRSS") / 1024.0);
  if (official_frame) {
    const auto w = official.map(Tensor<float>::randn({1, 3, 512}, Philox{1}));
    std::vector<double> times;
    for (int r = 0; r < 3; ++r) {
      const auto start = Clock::now();
      const auto frame = official.synthesize(w, {r * 2});
      times.push_back(seconds_since(start));
    }
    std::printf("one 256x256 frame (batch 1): median of 3 %.3f s (%.3f %.3f %.3f)\n", bench::median(times), times[0],
                times[1], times[2]);
  }
  if (narrow) {
    using Narrow = alis::Generator<alis::Config{.channel_base = 1024, .channel_max = 16}>;
    const Narrow g(0);
    std::printf("narrow model (released layout at 256², blocks <= 16 wide): %lld parameters\n",
                static_cast<long long>(g.parameter_count()));
    panoramas(g, counts, dir, "narrow");
  } else {
    panoramas(official, counts, dir, "alis::Official<256>");
  }
}
