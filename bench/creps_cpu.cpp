// bench_creps_cpu: CPU timing of creps::Official<256> (seeded random init) rendering H x W grids
// through render::render_image, split into the bi-line path (both axes) and the per-pixel part.
//
// Each configuration runs in a fresh process (this program re-runs itself with --one), so that the
// peak resident memory of one configuration is not hidden by another's. Peak memory is the increase
// of VmHWM over the resident size just before the first render (the model's own footprint).
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "bench_build_info.hpp"
#include "pixsyn/coords/axis_grid.hpp"
#include "pixsyn/models/creps.hpp"
#include "pixsyn/render/tiled_creps.hpp"
#include "support.hpp"

using namespace pixsyn;
using Model = creps::Official<256>;

namespace {

// Multiply-adds of the modulated layers per axis point (each runs on D thickness slots) and of the
// per-pixel layers per pixel, from the model's weights; styles and folding are per sample.
struct Macs {
  std::int64_t per_axis_point = 0, per_pixel = 0;
};

Macs macs(const Model& g) {
  Macs m;
  const auto& s = g.synthesis;
  for (std::size_t i = 0; i < s.blocks.size(); ++i) {
    const auto& b = *s.blocks[i];
    if (b.fc0) m.per_axis_point += b.fc0->weight.numel();
    m.per_axis_point += b.fc1.weight.numel() + (i > 0 ? b.tores.weight.numel() : 0);
  }
  m.per_axis_point *= Model::config.thickness;
  for (std::size_t l = 1; l < s.decoders.size(); ++l)
    for (const auto& layer : *s.decoders[l]) m.per_pixel += layer->weight.numel();
  for (const auto& layer : *s.decoder_last) m.per_pixel += layer->weight.numel();
  m.per_pixel += s.decoder_img->weight.numel();
  for (const auto& b : s.refinement)
    m.per_pixel += b->fc0->weight.numel() + b->fc1.weight.numel() + b->tores.weight.numel();
  m.per_pixel += std::int64_t(Model::config.levels()) * Model::config.thickness * Model::config.biline_channels;
  return m;
}

struct Result {
  int height = 0, width = 0, batch = 0;
  double ms_per_image = 0, embed_ms = 0;  // medians over runs, divided by the batch
  double gflops = 0, model_mib = 0, peak_mib = 0;
};

Result run_one(int height, int width, int batch, int runs, int warmup, std::int64_t tile, std::int64_t axis_tile) {
  const Model g(1);
  const Tensor<float> w = g.map(Tensor<float>::randn({batch, Model::config.w_dim}, Philox{2}));
  const auto grid = coords::axis_grid<float>(height, width);
  const render::CrepsRenderOptions<float> options{.max_pixels = tile, .max_axis_points = axis_tile};
  Result r{.height = height, .width = width, .batch = batch};
  const bool reset = bench::reset_peak();
  const std::int64_t base = reset ? bench::status_kib("VmRSS") : bench::status_kib("VmHWM");
  r.model_mib = base / 1024.0;
  for (int i = 0; i < warmup; ++i) render::render_image(g, w, grid, options);
  std::vector<double> total, embed;
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    const Tensor<float> img = render::render_image(g, w, grid, options);
    total.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    t0 = std::chrono::steady_clock::now();
    const std::int64_t chunk = render::tile_points(axis_tile, batch);
    render::detail::embed_axis_chunked(g, w, grid.rows, creps::Axis::rows, chunk);
    render::detail::embed_axis_chunked(g, w, grid.cols, creps::Axis::cols, chunk);
    embed.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  r.ms_per_image = bench::median(total) / batch;
  r.embed_ms = bench::median(embed) / batch;
  const Macs m = macs(g);
  r.gflops =
      2.0 * (m.per_axis_point * double(height + width) + m.per_pixel * double(height) * width) / (r.ms_per_image * 1e6);
  r.peak_mib = (bench::status_kib("VmHWM") - base) / 1024.0;
  return r;
}

Result run_child(const std::string& self, int height, int width, int batch, int runs, int warmup, std::int64_t tile,
                 std::int64_t axis_tile) {
  std::ostringstream cmd;
  cmd << self << " --one " << height << " " << width << " " << batch << " --runs " << runs << " --warmup " << warmup
      << " --tile " << tile << " --axis-tile " << axis_tile;
  const std::string out = bench::run_capture(cmd.str());
  std::istringstream in(out.substr(out.find("RESULT")));
  std::string tag;
  Result r;
  in >> tag >> r.height >> r.width >> r.batch >> r.ms_per_image >> r.embed_ms >> r.gflops >> r.model_mib >> r.peak_mib;
  return r;
}

int usage() {
  std::cerr << "usage: bench_creps_cpu [--sizes 64,128,256] [--batches 1,4] [--runs 3] [--warmup 1]\n"
               "                       [--tile 65536] [--axis-tile 512] [--strip W]\n"
               "  --strip W   also render an 8 x W strip (batch 1): the memory of one long axis\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes{64, 128, 256}, batches{1, 4};
  int runs = 3, warmup = 1, strip = 0, one_h = 0, one_w = 0, one_batch = 0;
  std::int64_t tile = 1 << 16, axis_tile = 1 << 9;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto next = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
        return argv[++i];
      };
      if (a == "--sizes")
        sizes = bench::parse_list(next());
      else if (a == "--batches")
        batches = bench::parse_list(next());
      else if (a == "--runs")
        runs = std::stoi(next());
      else if (a == "--warmup")
        warmup = std::stoi(next());
      else if (a == "--tile")
        tile = std::stoll(next());
      else if (a == "--axis-tile")
        axis_tile = std::stoll(next());
      else if (a == "--strip")
        strip = std::stoi(next());
      else if (a == "--one") {
        one_h = std::stoi(next());
        one_w = std::stoi(next());
        one_batch = std::stoi(next());
      } else
        return usage();
    }
    if (runs < 1 || warmup < 0 || tile < 1 || axis_tile < 1 || strip < 0) return usage();
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return usage();
  }

  if (one_h > 0) {
    const Result r = run_one(one_h, one_w, one_batch, runs, warmup, tile, axis_tile);
    std::printf("RESULT %d %d %d %.6f %.6f %.6f %.3f %.3f\n", r.height, r.width, r.batch, r.ms_per_image, r.embed_ms,
                r.gflops, r.model_mib, r.peak_mib);
    return 0;
  }

  const Model g(1);
  const Macs m = macs(g);
  std::printf(
      "pixsyn %s, creps::Official<256>: %lld parameters; %lld MAC per axis point (bi-line path, both\n"
      "slots counted once per axis), %lld MAC per pixel (decoders, refinement)\n",
      PIXSYN_BENCH_COMPILER, static_cast<long long>(g.parameter_count()), static_cast<long long>(m.per_axis_point),
      static_cast<long long>(m.per_pixel));
  std::printf(
      "flags: %s\nOpenMP threads: %d; tiles: %lld pixels, %lld axis points ((sample, x) pairs); median of %d "
      "runs after %d warm-up\n\n",
      PIXSYN_BENCH_FLAGS, omp_get_max_threads(), static_cast<long long>(tile), static_cast<long long>(axis_tile), runs,
      warmup);
  std::printf("| H x W         | batch | ms per image | of which bi-line path | GFLOP/s | model MiB | peak +MiB |\n");
  std::printf("|---------------|-------|--------------|-----------------------|---------|-----------|-----------|\n");
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  auto print = [](const Result& r) {
    std::printf("| %5d x %-5d | %5d | %12.1f | %21.1f | %7.2f | %9.0f | %9.0f |\n", r.height, r.width, r.batch,
                r.ms_per_image, r.embed_ms, r.gflops, r.model_mib, r.peak_mib);
    std::fflush(stdout);
  };
  try {
    for (int size : sizes)
      for (int batch : batches) print(run_child(self, size, size, batch, runs, warmup, tile, axis_tile));
    if (strip > 0) print(run_child(self, 8, strip, 1, 1, 0, tile, axis_tile));
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
