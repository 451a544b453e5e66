// bench_split_render_gpu: one SIDE x SIDE image of CIPS-skips 256 (random weights, noise off, fp32) rendered in
// row bands of 512, first on one GPU, then split over GPUS ranks (render::split_rows over NCCL, one process
// per GPU, started by this program with dist::launch), the bands gathered in order on rank 0's host. Prints
// the seconds of each (render, copies to the host and the gather; not the start-up), the speed-up, and
// whether the gathered image has the one-GPU image's bytes (an FNV-1a hash of both).
//   bench_split_render_gpu [SIDE] [GPUS]     defaults 16384 and 2
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "pixsyn/coords/grid.hpp"
#include "pixsyn/dist/in_process.hpp"
#include "pixsyn/dist/launch.hpp"
#include "pixsyn/dist/nccl.hpp"
#include "pixsyn/dist/rendezvous.hpp"
#include "pixsyn/models/cips.hpp"
#include "pixsyn/render/cuda_cips.hpp"
#include "pixsyn/render/split.hpp"

namespace {

using namespace pixsyn;
using Model = cips::Skips<256>;
constexpr std::int64_t band = 512;

std::uint64_t fnv1a(const Tensor<float>& t) {
  std::uint64_t h = 1469598103934665603ull;
  const auto* p = reinterpret_cast<const unsigned char*>(t.data());
  for (std::int64_t i = 0; i < t.numel() * static_cast<std::int64_t>(sizeof(float)); ++i)
    h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

// Renders the image over comm's ranks; rank 0 returns it (3, side, side) with the seconds it took.
std::pair<Tensor<float>, double> render_split(dist::Communicator& comm, std::int64_t side) {
  const Model g(1);
  render::CudaCips<Model::config> fast(g);
  const auto w = to_device(g.map(Tensor<float>::randn({1, Model::config.style_dim}, Philox{7})));
  const auto band_of = [&](std::int64_t first, std::int64_t rows) {
    return to_host(fast.render_points(w, coords::grid_rect<float>(side, side, first, 0, rows, side)))
        .reshape({3, rows, side});
  };
  band_of(0, band);  // warm-up: workspace, cuBLAS, the CUDA graph of a band
  Tensor<float> image = comm.rank() == 0 ? Tensor<float>::empty({3, side, side}) : Tensor<float>();
  comm.barrier();
  const auto start = std::chrono::steady_clock::now();
  render::split_rows(
      comm, side, band, band_of,
      [&](std::int64_t rows) {
        return Shape{3, rows, side};
      },
      [&](std::int64_t first, const Tensor<float>& rgb) {
        const std::int64_t rows = rgb.dim(1);
        for (int c = 0; c < 3; ++c)
          std::copy(rgb.data() + c * rows * side, rgb.data() + (c + 1) * rows * side,
                    image.data() + (c * side + first) * side);
      });
  comm.barrier();
  return {image, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t side = argc > 1 ? std::atoll(argv[1]) : 16384;
  const int gpus = argc > 2 ? std::atoi(argv[2]) : 2;
  if (side < band || side > 65536 || gpus < 1 || gpus > 64) {
    std::fprintf(stderr, "usage: bench_split_render_gpu [SIDE >= %lld] [GPUS]\n", static_cast<long long>(band));
    return 2;
  }
  try {
    if (const auto env = dist::environment()) {  // a rank
      const auto comm = dist::nccl_communicator(*env, dist::nccl_options_from_environment());
      const auto [image, seconds] = render_split(*comm, side);
      if (comm->rank() == 0) {
        const std::string expected = std::getenv("PIXSYN_BENCH_HASH") ? std::getenv("PIXSYN_BENCH_HASH") : "";
        std::printf("%d GPUs: %.2f s; the gathered image %s the one-GPU image's bytes\n", comm->world_size(), seconds,
                    std::to_string(fnv1a(image)) == expected ? "HAS" : "does NOT have");
        std::printf("seconds %.4f\n", seconds);
      }
      return 0;
    }
    std::printf("bench_split_render_gpu: CIPS-skips 256, one %lldx%lld image, fp32, noise off, bands of %lld rows\n",
                static_cast<long long>(side), static_cast<long long>(side), static_cast<long long>(band));
    double one = 0;
    std::uint64_t hash = 0;
    dist::run_ranks(1, [&](dist::Communicator& comm) {  // one GPU: the same bands, no transport
      const auto [image, seconds] = render_split(comm, side);
      one = seconds;
      hash = fnv1a(image);
    });
    std::printf("1 GPU: %.2f s\n", one);
    std::fflush(stdout);
    char exe[4096];
    const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) throw Error("cannot find this program (/proc/self/exe)");
    ::setenv("PIXSYN_BENCH_HASH", std::to_string(hash).c_str(), 1);
    ::setenv("NCCL_NVLS_ENABLE", "0", 0);
    const int status = dist::launch({std::string(exe, static_cast<std::size_t>(n)), std::to_string(side)},
                                    {.processes = gpus, .master_port = dist::free_port()}, std::cerr);
    std::printf("(speed-up: 1-GPU seconds / the %d-GPU seconds above)\n", gpus);
    return status;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_split_render_gpu: %s\n", e.what());
    return 1;
  }
}
