// bench_split_render_gpu: one SIDE x SIDE image of CIPS-skips 256 (random weights, noise off) rendered in row
// bands of 512 (render::gather_in_order), first on one GPU, then over GPUS GPUs (one process per GPU, NCCL), the
// bands gathered in order on rank 0's host. The program starts itself as GPUS ranks (dist::launch) and touches no
// GPU itself; both parts run in those ranks after one start-up (model, NCCL, a warm-up band): the one-GPU part on
// rank 0 while the others wait, then the split. Prints a table: the seconds of each part (render, copies to the
// host and the gather; not the start-up), pixels/s, the speed-up, and whether the split's bytes equal the one-GPU
// bytes (a hash of the bands in order, taken as they arrive: no image is held, as a streamed render holds none).
//   bench_split_render_gpu [SIDE] [GPUS] [fp32|bf16]     defaults 16384, 2, fp32
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "pixsyn/coords/grid.hpp"
#include "pixsyn/dist/launch.hpp"
#include "pixsyn/dist/nccl.hpp"
#include "pixsyn/dist/rendezvous.hpp"
#include "pixsyn/models/cips.hpp"
#include "pixsyn/render/cuda_cips.hpp"
#include "pixsyn/render/split.hpp"

namespace {

using namespace pixsyn;
using Model = cips::Skips<256>;
using Clock = std::chrono::steady_clock;
constexpr std::int64_t band = 512;

double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// FNV-1a over 64-bit words, continued from band to band.
struct Hash {
  std::uint64_t value = 1469598103934665603ull;
  void add(const Tensor<float>& t) {
    const auto* p = reinterpret_cast<const unsigned char*>(t.data());
    const std::size_t bytes = static_cast<std::size_t>(t.numel()) * sizeof(float);
    std::size_t i = 0;
    for (std::uint64_t word = 0; i + 8 <= bytes; i += 8) {
      std::memcpy(&word, p + i, 8);
      value = (value ^ word) * 1099511628211ull;
    }
    for (; i < bytes; ++i) value = (value ^ p[i]) * 1099511628211ull;
  }
};

// One rank: the start-up, the one-GPU part on rank 0, then the split over every rank; rank 0 prints the table.
int run_rank(const dist::Environment& env, std::int64_t side, render::Precision precision) {
  const auto start = Clock::now();
  const auto comm = dist::nccl_communicator(env, dist::nccl_options_from_environment());
  const Model g(1);
  render::CudaCips<Model::config> fast(g);
  const auto w = to_device(g.map(Tensor<float>::randn({1, Model::config.style_dim}, Philox{7})));
  const std::int64_t bands = (side + band - 1) / band;
  const auto rows_of = [&](std::int64_t k) { return std::min(band, side - k * band); };
  const auto render_band = [&](std::int64_t k) {
    const std::int64_t rows = rows_of(k);
    return to_host(fast.render_points(w, coords::grid_rect<float>(side, side, k * band, 0, rows, side),
                                      render::CudaRenderOptions{.precision = precision}))
        .reshape({3, rows, side});
  };
  const auto shape = [&](std::int64_t k) { return Shape{3, rows_of(k), side}; };
  render_band(0);  // warm-up: the workspace, cuBLAS, the CUDA graph of a band
  comm->barrier();
  const double startup = since(start);

  // Part 1: rank 0 alone, the same bands (the other ranks wait at the barrier).
  double one = 0;
  Hash one_hash;
  if (comm->rank() == 0) {
    const auto t = Clock::now();
    render::gather_in_order(nullptr, bands, render_band, shape,
                            [&](std::int64_t, const Tensor<float>& rgb) { one_hash.add(rgb); });
    one = since(t);
  }
  comm->barrier();

  // Part 2: the bands round the ranks, gathered on rank 0.
  const auto t = Clock::now();
  Hash split_hash;
  render::gather_in_order(comm.get(), bands, render_band, shape,
                          [&](std::int64_t, const Tensor<float>& rgb) { split_hash.add(rgb); });
  const double split = since(t);
  comm->barrier();
  if (comm->rank() != 0) return 0;

  const double pixels = static_cast<double>(side) * static_cast<double>(side);
  const int gpus = comm->world_size();
  std::printf("start-up (model, NCCL, a warm-up band): %.2f s\n\n", startup);
  std::printf("| GPUs | seconds | Mpixels/s | speed-up | bytes |\n|---|---|---|---|---|\n");
  std::printf("| 1 | %.2f | %.2f | 1.00 | the reference |\n", one, pixels / one / 1e6);
  std::printf("| %d | %.2f | %.2f | %.2f | %s |\n", gpus, split, pixels / split / 1e6, one / split,
              split_hash.value == one_hash.value ? "identical" : "DIFFERENT");
  return split_hash.value == one_hash.value ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t side = argc > 1 ? std::atoll(argv[1]) : 16384;
  const int gpus = argc > 2 ? std::atoi(argv[2]) : 2;
  const std::string precision = argc > 3 ? argv[3] : "fp32";
  if (side < band || side > 65536 || gpus < 1 || gpus > 64 || (precision != "fp32" && precision != "bf16")) {
    std::fprintf(stderr, "usage: bench_split_render_gpu [SIDE >= %lld] [GPUS] [fp32|bf16]\n",
                 static_cast<long long>(band));
    return 2;
  }
  try {
    if (const auto env = dist::environment())
      return run_rank(*env, side, precision == "bf16" ? render::Precision::bf16 : render::Precision::fp32);
    std::printf("bench_split_render_gpu: CIPS-skips 256, one %lldx%lld image, %s, noise off, bands of %lld rows\n",
                static_cast<long long>(side), static_cast<long long>(side), precision.c_str(),
                static_cast<long long>(band));
    std::fflush(stdout);
    char exe[4096];
    const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) throw Error("cannot find this program (/proc/self/exe)");
    ::setenv("NCCL_NVLS_ENABLE", "0", 0);
    return dist::launch(
        {std::string(exe, static_cast<std::size_t>(n)), std::to_string(side), std::to_string(gpus), precision},
        {.processes = gpus, .master_port = dist::free_port()}, std::cerr);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_split_render_gpu: %s\n", e.what());
    return 1;
  }
}
