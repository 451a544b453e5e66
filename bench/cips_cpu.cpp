// bench_cips_cpu: CPU timing of cips::Skips<256> (seeded random init) rendering square grids.
//
// Each configuration runs in a fresh process (this program re-runs itself with --one), so that the
// peak resident memory of one configuration is not hidden by another's. Peak memory is reported as
// the increase of VmHWM over the resident size just before the first render (the model's own
// footprint); the high-water mark is reset there by writing 5 to /proc/self/clear_refs.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "bench_build_info.hpp"
#include "pixsyn/coords/grid.hpp"
#include "pixsyn/models/cips.hpp"
#include "pixsyn/render/tiled.hpp"
#include "support.hpp"

using namespace pixsyn;
using Model = cips::Skips<256>;
using bench::parse_list;
using bench::reset_peak;
using bench::status_kib;

namespace {

// The synthesis cost per pixel from the model's own weights: every 1x1 convolution weight (Fourier
// features, StyledConvs, ToRGBs) of shape (.., out, in, 1, 1) costs out * in multiply-adds per pixel.
// Modulation, demodulation and the mapping network are per sample; the embedding lookup is a gather.
std::int64_t macs_per_pixel(const Model& g) {
  std::int64_t macs = 0;
  for (const auto& [name, p] : g.named_parameters()) {
    const std::string suffix = "conv.weight";
    if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      macs += p->numel();
  }
  return macs;
}

struct Result {
  int size = 0;
  int batch = 0;
  double ms_per_image = 0;  // median over runs, divided by the batch
  double gflops = 0;
  double model_mib = 0;  // resident size before the first render
  double peak_mib = 0;   // VmHWM increase over model_mib
  bool peak_reset = false;
};

// One configuration, in this process: `warmup` untimed renders, then the median of `runs`.
// rows > 0 renders only the first `rows` rows of the grid (a part of a render too long to finish).
Result run_one(int size, int batch, int rows, int runs, int warmup, std::int64_t tile, bool progress) {
  const Model g(1);
  const Tensor<float> w = g.map(Tensor<float>::randn({batch, Model::config.style_dim}, Philox{2}));
  const auto grid = rows > 0 ? coords::grid_rect<float>(size, size, 0, 0, rows, size) : coords::grid<float>(size, size);
  render::RenderOptions<float> options;
  options.max_pixels = tile;
  if (progress)
    options.progress = [](std::int64_t done, std::int64_t total) {
      std::fprintf(stderr, "\r  %lld / %lld points", static_cast<long long>(done), static_cast<long long>(total));
      if (done == total) std::fprintf(stderr, "\n");
    };

  Result r{.size = size, .batch = batch};
  r.peak_reset = reset_peak();
  const std::int64_t base = r.peak_reset ? status_kib("VmRSS") : status_kib("VmHWM");
  r.model_mib = base / 1024.0;
  for (int i = 0; i < warmup; ++i) render::render_image(g, w, grid, options);
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const Tensor<float> img = render::render_image(g, w, grid, options);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  r.ms_per_image = bench::median(ms) / batch;
  r.gflops = 2.0 * macs_per_pixel(g) * grid.size() / (r.ms_per_image * 1e6);
  r.peak_mib = (status_kib("VmHWM") - base) / 1024.0;
  return r;
}

// Runs one configuration in a fresh process and parses its result line.
Result run_child(const std::string& self, int size, int batch, int rows, int runs, int warmup, std::int64_t tile,
                 bool progress) {
  std::ostringstream cmd;
  cmd << self << " --one " << size << " " << batch << " --rows " << rows << " --runs " << runs << " --warmup " << warmup
      << " --tile " << tile << (progress ? " --progress" : "");
  const std::string out = bench::run_capture(cmd.str());
  std::istringstream in(out.substr(out.find("RESULT")));
  std::string tag;
  Result r;
  in >> tag >> r.size >> r.batch >> r.ms_per_image >> r.gflops >> r.model_mib >> r.peak_mib >> r.peak_reset;
  return r;
}

void print_row(const Result& r) {
  std::printf("| %5d² | %5d | %12.1f | %10.2f | %10.0f | %14.0f |\n", r.size, r.batch, r.ms_per_image, r.gflops,
              r.model_mib, r.peak_mib);
  std::fflush(stdout);
}

int usage() {
  std::cerr << "usage: bench_cips_cpu [--sizes 64,128,256] [--batches 1,4] [--runs 5] [--warmup 1] [--tile 65536]\n"
               "                      [--big [--big-size 4096] [--big-rows R]]\n"
               "  --big       also render one big-size x big-size image (batch 1) in tiles; long on 2 cores\n"
               "  --big-rows  render only its first R rows and extrapolate the time\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes{64, 128, 256}, batches{1, 4};
  int runs = 5, warmup = 1, big_size = 4096, big_rows = 0, rows = 0, one_size = 0, one_batch = 0;
  std::int64_t tile = 1 << 16;
  bool big = false, progress = false;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto next = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
        return argv[++i];
      };
      if (a == "--sizes")
        sizes = parse_list(next());
      else if (a == "--batches")
        batches = parse_list(next());
      else if (a == "--runs")
        runs = std::stoi(next());
      else if (a == "--warmup")
        warmup = std::stoi(next());
      else if (a == "--tile")
        tile = std::stoll(next());
      else if (a == "--big")
        big = true;
      else if (a == "--big-size")
        big_size = std::stoi(next());
      else if (a == "--big-rows")
        big_rows = std::stoi(next());
      else if (a == "--rows")
        rows = std::stoi(next());
      else if (a == "--progress")
        progress = true;
      else if (a == "--one") {
        one_size = std::stoi(next());
        one_batch = std::stoi(next());
      } else
        return usage();
    }
    if (runs < 1 || warmup < 0 || tile < 1) return usage();
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return usage();
  }

  if (one_size > 0) {
    const Result r = run_one(one_size, one_batch, rows, runs, warmup, tile, progress);
    std::printf("RESULT %d %d %.6f %.6f %.3f %.3f %d\n", r.size, r.batch, r.ms_per_image, r.gflops, r.model_mib,
                r.peak_mib, r.peak_reset ? 1 : 0);
    return 0;
  }

  const Model g(1);
  const std::int64_t macs = macs_per_pixel(g);
  std::printf("pixsyn %s, cips::Skips<256>: %lld parameters, %lld MAC per pixel (cips.md: 3,401,344) = %.3f MFLOP\n",
              PIXSYN_BENCH_COMPILER, static_cast<long long>(g.parameter_count()), static_cast<long long>(macs),
              2e-6 * macs);
  std::printf("flags: %s\nOpenMP threads: %d; tile: %lld (sample, point) pairs; median of %d runs after %d warm-up\n\n",
              PIXSYN_BENCH_FLAGS, omp_get_max_threads(), static_cast<long long>(tile), runs, warmup);
  std::printf("| size   | batch | ms per image | GFLOP/s    | model MiB  | peak +MiB      |\n");
  std::printf("|--------|-------|--------------|------------|------------|----------------|\n");
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  bool reset_ok = true;
  try {
    for (int size : sizes)
      for (int batch : batches) {
        const Result r = run_child(self, size, batch, 0, runs, warmup, tile, false);
        reset_ok = reset_ok && r.peak_reset;
        print_row(r);
      }
    if (big) {
      const int done_rows = big_rows > 0 ? std::min(big_rows, big_size) : big_size;
      std::printf("\n%d² image, batch 1, rows 0..%d (%s), one run, no warm-up:\n", big_size, done_rows,
                  done_rows == big_size ? "the whole image" : "a part; time extrapolated to the whole");
      const Result r = run_child(self, big_size, 1, big_rows, 1, 0, tile, true);
      reset_ok = reset_ok && r.peak_reset;
      print_row(r);
      std::printf(
          "%.1f s for %d rows -> %.1f s (%.1f min) for the whole image; peak +%.0f MiB includes the\n"
          "output (2 x %.0f MiB for the whole image: points (1, P, 3) and image (1, 3, H, W))\n",
          r.ms_per_image / 1e3, done_rows, r.ms_per_image / 1e3 * big_size / done_rows,
          r.ms_per_image / 6e4 * big_size / done_rows, r.peak_mib, 12.0 * big_size * big_size / (1 << 20));
    }
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  if (!reset_ok)
    std::printf("\nnote: /proc/self/clear_refs was not writable; peak is over the high-water mark after init\n");
  return 0;
}
