// bench_train_gpu: pixsyn's training iteration on the GPU, float32, at 256² batch 16 (any batch), next to the
// official step's times (bench/train_torch.py on the same GPU):
//   cips   train::gan_step (D, lazy R1, G) and the G EMA: the official CIPSskip width (hidden, style 512;
//          rosinality's D at 256, channel multiplier 2) and two narrow widths that `pixsyn train` trains
//          (tools/pixsyn/trainable.hpp);
//   alis   train::stylegan2_ada_step (G, lazy path length, D, lazy R1), ALIS's recipe and the G EMA:
//          alis::Official<256> with ALIS's StyleGAN2-ADA D (train_gpu_alis.cpp);
//   creps  the same loop with CREPS's recipe: creps::Official<256> with CREPS's StyleGAN2-ADA D
//          (train_gpu_creps.cpp; both through train_gpu_ada.hpp).
// Per row (and precision: fp32 GEMMs, or TF32 with --tf32): ms of a plain iteration, of one with the path length
// (StyleGAN2-ADA), of one with R1 (with the path length too for StyleGAN2-ADA: iteration 0 of the cycle), the average
// over the official cycle of 16 (train_gpu.hpp), images/s from it, and the memory pool's peak. Random weights, reals
// and latents (the speed does not depend on them); seeded noise.
//   bench_train_gpu [repeats] [--official FILE]...   FILE: bench/train_torch.py --out lines "family size width
//                                                     batch ms_official ms_fp32" (several files: merged)
//   bench_train_gpu --family NAME                     that family's rows only
//   bench_train_gpu --only FAMILY SIZE WIDTH BATCH    one row (an instantiated size/width; for a profiler)
//   bench_train_gpu --profile                         one warm plain iteration per row between
//                                                     cudaProfilerStart/Stop, untimed (`ncu --profile-from-start off`;
//                                                     with --tf32: the TF32 mode only)
//   bench_train_gpu --tf32                            each row twice: fp32, then with TF32 GEMMs
//                                                     (Context::set_allow_tf32, `pixsyn train --precision tf32`)
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "pixsyn/cuda.hpp"
#include "pixsyn/models/cips.hpp"
#include "pixsyn/nn/rosinality_discriminator.hpp"
#include "pixsyn/train/ema.hpp"
#include "pixsyn/train/gan_step.hpp"
#include "train_gpu.hpp"

namespace {

using namespace pixsyn;

using bench::IterationKind;
using bench::TrainTiming;

struct Row {
  std::string family;
  int size, width, batch;  // width 0: the official networks
};

template <int S, int W>
constexpr cips::Config bench_config =
    W == 0 ? cips::Config{.size = S} : cips::Config{.size = S, .hidden = W, .style_dim = W, .max_channels = W};

template <int S, int W>
TrainTiming measure_cips(int batch, int repeats) {
  constexpr cips::Config C = bench_config<S, W>;
  using G = cips::Generator<C, float, Cuda>;
  using D = nn::RosinalityDiscriminator<float, Cuda>;
  G g(1), g_ema(1);
  D d({.size = S, .max_channels = W}, 2);
  train::AdamOptions adam{.lr = 0.002, .beta1 = 0, .beta2 = 0.99, .zero_missing_gradients = true};
  train::Adam<float, Cuda> g_adam(g.named_parameters(), train::lazy_regularized(adam, 4));
  train::Adam<float, Cuda> d_adam(d.named_parameters(), train::lazy_regularized(adam, 16));
  const auto reals = Tensor<float, Cuda>::randn({batch, 3, S, S}, Philox{3});
  std::uint64_t step = 0;
  const auto generate = [&](train::GanPhase phase) {
    const int p = phase == train::GanPhase::discriminator ? 0 : 1;
    const Var<float, Cuda> z(Tensor<float, Cuda>::randn({batch, C.style_dim}, Philox{7, 2 * step + p}));
    return g.synthesize_training(g.map(z), nn::NoiseSource<float, Cuda>{.mode = nn::NoiseMode::seeded, .seed = step});
  };
  const auto iteration = [&](IterationKind kind) {
    train::gan_step(d, g_adam, d_adam, reals, generate, kind == IterationKind::r1);
    train::update_ema(g_ema, g, train::ema_beta(batch, 0));
    ++step;
  };
  return bench::time_iterations(iteration, false, repeats);
}

// The instantiated rows (each costs compile time): CIPS at the official width, then two of `pixsyn train`'s
// narrow demo variants; ALIS and CREPS at the official width.
const std::vector<Row> rows{
    {"cips", 256, 0, 16}, {"cips", 128, 128, 16}, {"cips", 256, 64, 16}, {"alis", 256, 0, 16}, {"creps", 256, 0, 16}};

TrainTiming run(const Row& r, int repeats) {
  const auto cips = [&]<int S, int W>() { return measure_cips<S, W>(r.batch, repeats); };
  if (r.family == "cips" && r.size == 256 && r.width == 0) return cips.operator()<256, 0>();
  if (r.family == "cips" && r.size == 128 && r.width == 128) return cips.operator()<128, 128>();
  if (r.family == "cips" && r.size == 256 && r.width == 64) return cips.operator()<256, 64>();
  if (r.family == "alis" && r.size == 256 && r.width == 0) return bench::measure_alis(r.batch, repeats);
  if (r.family == "creps" && r.size == 256 && r.width == 0) return bench::measure_creps(r.batch, repeats);
  std::fprintf(stderr,
               "bench_train_gpu: no instantiation for %s size %d width %d (rows: cips 256/0, 128/128, 256/64; "
               "alis 256/0; creps 256/0)\n",
               r.family.c_str(), r.size, r.width);
  std::exit(2);
}

// The official ms/iter as trained and in fp32 (-1: not measured) by (family, size, width, batch).
using OfficialTimes = std::map<std::tuple<std::string, int, int, int>, std::pair<double, double>>;

void read_official(const std::string& path, OfficialTimes& ms) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "bench_train_gpu: cannot read %s\n", path.c_str());
    std::exit(1);
  }
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.empty()) continue;
    std::istringstream fields(line);
    std::string family, rest;
    int size = 0, width = 0, batch = 0;
    double official = 0, fp32 = 0;
    if (!(fields >> family >> size >> width >> batch >> official >> fp32) || fields >> rest) {
      std::fprintf(stderr,
                   "bench_train_gpu: %s line %d: \"%s\" is not \"family size width batch ms_official ms_fp32\"\n",
                   path.c_str(), number, line.c_str());
      std::exit(1);
    }
    ms[{family, size, width, batch}] = {official, fp32};
  }
}

// "%.2f", or "-" for NaN.
std::string ms_cell(double ms) {
  if (std::isnan(ms)) return "-";
  char cell[32];
  std::snprintf(cell, sizeof cell, "%.2f", ms);
  return cell;
}

// " official | speed-up |" cells for the official time (-1: not measured) against pixsyn's ms (NaN: none).
std::string official_cells(double official_ms, double ms) {
  if (official_ms < 0) return " - | - |";
  return " " + ms_cell(official_ms) + " | " + (std::isnan(ms) ? "-" : ms_cell(official_ms / ms) + "x") + " |";
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = 12;
  OfficialTimes official;
  std::vector<Row> selected = rows;
  std::vector<bool> tf32_modes{false};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--official" && i + 1 < argc) {
      read_official(argv[++i], official);
    } else if (arg == "--family" && i + 1 < argc) {
      const std::string family = argv[++i];
      std::erase_if(selected, [&](const Row& r) { return r.family != family; });
    } else if (arg == "--profile") {
      bench::profile_one_iteration = true;
    } else if (arg == "--tf32") {
      tf32_modes = {false, true};
    } else if (arg == "--only" && i + 4 < argc) {
      selected = {{argv[i + 1], std::atoi(argv[i + 2]), std::atoi(argv[i + 3]), std::atoi(argv[i + 4])}};
      i += 4;
    } else {
      repeats = std::max(1, std::atoi(argv[i]));
    }
  }
  if (bench::profile_one_iteration && tf32_modes.size() == 2) tf32_modes = {true};  // profile one mode only
  cudaDeviceProp prop{};
  bench::check(cudaGetDeviceProperties(&prop, backend::cuda::Context::instance().device()), "cudaGetDeviceProperties");
  std::printf(
      "bench_train_gpu: training iterations (CIPS: D, lazy R1 every 16, G, EMA; ALIS and CREPS: G, path length "
      "every 4, D, R1 every 16, EMA), %s, float32 weights, median of %d\n",
      prop.name, repeats);
  std::printf(
      "| family | size | width | batch | GEMMs | ms plain | ms with PL | ms with R1 | ms/iter (cycle of 16) | images/s "
      "| peak MiB | official ms/iter | speed-up | official fp32 ms/iter | speed-up vs fp32 |\n"
      "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const auto& r : selected)
    for (const bool tf32 : tf32_modes) {
      backend::cuda::Context::instance().set_allow_tf32(tf32);
      const char* gemms = tf32 ? "tf32" : "fp32";
      // Setting a row up (weights, reals) can fail too, e.g. out of memory: a failed row, not an abort.
      bench::TrainTiming t;
      try {
        t = run(r, repeats);
      } catch (const Error& e) {
        t.error = e.what();
      }
      const std::string width = r.width == 0 ? "official" : std::to_string(r.width);
      const auto it = official.find({r.family, r.size, r.width, r.batch});
      const auto [official_ms, fp32_ms] = it == official.end() ? std::pair{-1.0, -1.0} : it->second;
      if (!t.error.empty()) {
        std::printf("| %s | %d² | %s | %d | %s | failed: %s | | | | | |%s%s\n", r.family.c_str(), r.size, width.c_str(),
                    r.batch, gemms, t.error.c_str(), official_cells(official_ms, NAN).c_str(),
                    official_cells(fp32_ms, NAN).c_str());
        continue;
      }
      const double cycle = t.cycle_ms();
      std::printf("| %s | %d² | %s | %d | %s | %.2f | %s | %.2f | %.2f | %.1f | %.0f |%s%s\n", r.family.c_str(), r.size,
                  width.c_str(), r.batch, gemms, t.plain_ms, ms_cell(t.path_length_ms).c_str(), t.r1_ms, cycle,
                  r.batch * 1000.0 / cycle, t.peak_mib, official_cells(official_ms, cycle).c_str(),
                  official_cells(fp32_ms, cycle).c_str());
      std::fflush(stdout);
    }
  return 0;
}
