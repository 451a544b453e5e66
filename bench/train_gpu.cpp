// bench_train_gpu: pixsyn's CIPS training step on the GPU (train::gan_step: the D step, lazy R1, the G step,
// then the G EMA update), float32, at 256² batch 16 with the official CIPSskip width (hidden, style 512;
// rosinality's D at 256, channel multiplier 2) and at two narrow widths that `pixsyn train` trains
// (tools/pixsyn/trainable.hpp), any batch. Per row: ms of an iteration without R1, ms of one with R1, the amortised
// iteration of the official loop (R1 every 16: (15 plain + 1 regularised) / 16), images/s from it, and the
// memory pool's peak. Random weights, reals and latents (the speed does not depend on them); seeded noise.
//   bench_train_gpu [repeats] [--official FILE]   FILE: "size width batch ms" lines of bench/train_torch.py
//                                                  (--out FILE) on the same GPU, printed next to pixsyn's
//   bench_train_gpu --only SIZE WIDTH BATCH         one row (an instantiated size/width; for a profiler)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "gpu_timing.hpp"
#include "pixsyn/cuda.hpp"
#include "pixsyn/models/cips.hpp"
#include "pixsyn/nn/rosinality_discriminator.hpp"
#include "pixsyn/train/ema.hpp"
#include "pixsyn/train/gan_step.hpp"

namespace {

using namespace pixsyn;

struct Row {
  int size, width, batch;  // width 0: the official CIPSskip and D
};

struct Timing {
  double plain_ms = 0, r1_ms = 0, peak_mib = 0;
  std::string error;
};

template <int S, int W>
constexpr cips::Config bench_config =
    W == 0 ? cips::Config{.size = S} : cips::Config{.size = S, .hidden = W, .style_dim = W, .max_channels = W};

template <int S, int W>
Timing measure(int batch, int repeats) {
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
  const auto iteration = [&](bool regularize) {
    train::gan_step(d, g_adam, d_adam, reals, generate, regularize);
    train::update_ema(g_ema, g, train::ema_beta(batch, 0));
    ++step;
  };
  Timing t;
  try {
    t.plain_ms = bench::time_gpu([&] { iteration(false); }, repeats).median_ms;
    const auto r1 = bench::time_gpu([&] { iteration(true); }, std::max(3, repeats / 4), 1);
    t.r1_ms = r1.median_ms;
    t.peak_mib = r1.peak_mib;
  } catch (const Error& e) {
    t.error = e.what();
  }
  return t;
}

// The instantiated rows (each costs compile time): the official width, then two of `pixsyn train`'s narrow
// demo variants.
const std::vector<Row> rows{{256, 0, 16}, {128, 128, 16}, {256, 64, 16}};

Timing run(const Row& r, int repeats) {
  const auto dispatch = [&]<int S, int W>() { return measure<S, W>(r.batch, repeats); };
  if (r.size == 256 && r.width == 0) return dispatch.operator()<256, 0>();
  if (r.size == 128 && r.width == 128) return dispatch.operator()<128, 128>();
  if (r.size == 256 && r.width == 64) return dispatch.operator()<256, 64>();
  std::fprintf(stderr, "bench_train_gpu: no instantiation for size %d width %d (rows: 256/0, 128/128, 256/64)\n",
               r.size, r.width);
  std::exit(2);
}

std::map<std::tuple<int, int, int>, double> read_official(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "bench_train_gpu: cannot read %s\n", path.c_str());
    std::exit(1);
  }
  std::map<std::tuple<int, int, int>, double> ms;
  int size = 0, width = 0, batch = 0;
  double t = 0;
  while (in >> size >> width >> batch >> t) ms[{size, width, batch}] = t;
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = 12;
  std::map<std::tuple<int, int, int>, double> official;
  std::vector<Row> selected = rows;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--official" && i + 1 < argc) {
      official = read_official(argv[++i]);
    } else if (arg == "--only" && i + 3 < argc) {
      selected = {{std::atoi(argv[i + 1]), std::atoi(argv[i + 2]), std::atoi(argv[i + 3])}};
      i += 3;
    } else {
      repeats = std::max(1, std::atoi(argv[i]));
    }
  }
  cudaDeviceProp prop{};
  bench::check(cudaGetDeviceProperties(&prop, backend::cuda::Context::instance().device()), "cudaGetDeviceProperties");
  std::printf(
      "bench_train_gpu: CIPSskip + rosinality D training iteration (D, lazy R1 every 16, G, EMA), %s, "
      "float32, median of %d\n",
      prop.name, repeats);
  std::printf(
      "| size | width | batch | ms plain | ms with R1 | ms/iter (R1/16) | images/s | peak MiB | official "
      "ms/iter | speed-up |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const auto& r : selected) {
    const auto t = run(r, repeats);
    const std::string width = r.width == 0 ? "512 (official)" : std::to_string(r.width);
    if (!t.error.empty()) {
      std::printf("| %d² | %s | %d | failed: %s |\n", r.size, width.c_str(), r.batch, t.error.c_str());
      continue;
    }
    const double amortised = (15 * t.plain_ms + t.r1_ms) / 16;
    std::printf("| %d² | %s | %d | %.2f | %.2f | %.2f | %.1f | %.0f |", r.size, width.c_str(), r.batch, t.plain_ms,
                t.r1_ms, amortised, r.batch * 1000.0 / amortised, t.peak_mib);
    const auto it = official.find({r.size, r.width, r.batch});
    if (it != official.end())
      std::printf(" %.2f | %.2fx |\n", it->second, it->second / amortised);
    else
      std::printf(" - | - |\n");
    std::fflush(stdout);
  }
  return 0;
}
