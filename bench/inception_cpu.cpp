// bench_inception_cpu: the InceptionV3 feature network (metrics/inception.hpp) on the CPU: seconds per image
// of the FID-IncV3-mixed5 features (resize to 299² + the network up to mixed5 + mean) and of the final pool,
// at a few batch sizes, and the time to load the weights. Needs tools/data/inception.sh's output
// ($PIXSYN_INCEPTION_DIR or ~/.cache/pixsyn/inception).
//
//   bench_inception_cpu [--batches 1,8] [--repeats 3]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <pixsyn/metrics/inception.hpp>
#include <string>
#include <vector>

#include "bench_build_info.hpp"
#include "support.hpp"

using namespace pixsyn;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  std::vector<int> batches{1, 8};
  int repeats = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--batches")) batches = bench::parse_list(argv[i + 1]);
    if (!std::strcmp(argv[i], "--repeats")) repeats = std::stoi(argv[i + 1]);
  }
  std::printf("compiler: %s, flags: %s\n", PIXSYN_BENCH_COMPILER, PIXSYN_BENCH_FLAGS);
  const auto start = Clock::now();
  const metrics::InceptionV3<float> net;
  std::printf("weights loaded (and batch norms folded) in %.2f s\n\n",
              std::chrono::duration<double>(Clock::now() - start).count());
  std::printf("| layer | batch | s/batch (median of %d) | s/image |\n|---|---:|---:|---:|\n", repeats);
  for (const auto layer : {metrics::InceptionLayer::mixed5, metrics::InceptionLayer::final_pool})
    for (const int b : batches) {
      const auto images = Tensor<float>::rand({b, 3, 256, 256}, Philox{1, 0});
      std::vector<double> times;
      for (int r = 0; r < repeats; ++r) {
        const auto t = Clock::now();
        const auto f = net.features(images, layer);
        times.push_back(std::chrono::duration<double>(Clock::now() - t).count());
      }
      const double s = bench::median(times);
      std::printf("| %s | %d | %.3f | %.3f |\n", metrics::layer_name(layer), b, s, s / b);
      std::fflush(stdout);
    }
}
