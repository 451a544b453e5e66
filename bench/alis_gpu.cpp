// bench_alis_gpu: ALIS frames on the GPU. alis::Official<256> (24,111,298 parameters, seeded random init,
// noise off) rendered by alis::Generator<C, float, Cuda> (the CUDA conv ops, fp32), batch 1 and 16: the
// median time of a synthesis call (mapped anchors given), frames per second and the memory pool's peak.
// Compare with bench/alis_torch.py (the official code) run in the same session on the same GPU.
//
//   bench_alis_gpu [repeats]
#include <cstdio>
#include <cstdlib>
#include <pixsyn/models/alis.hpp>
#include <vector>

#include "gpu_timing.hpp"

using namespace pixsyn;

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 10;
  if (repeats < 1) {
    std::fprintf(stderr, "usage: bench_alis_gpu [repeats >= 1]\n");
    return 2;
  }
  const alis::Official<256> cpu(0);
  alis::Official<256, float, Cuda> gpu;
  gpu.load_state_dict(alis::weights_on<Cuda>(cpu));
  cudaDeviceProp prop{};
  bench::check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  std::printf("bench_alis_gpu: alis::Official<256> (%lld parameters), %s, fp32, noise off, median of %d calls\n",
              static_cast<long long>(cpu.parameter_count()), prop.name, repeats);
  std::printf(
      "| size | batch | ms/call | ms/frame | frames/s | peak MiB | extra MiB |\n|---|---:|---:|---:|---:|---:|---:|\n");
  for (int batch : {1, 16}) {
    const auto w = to_device(cpu.map(Tensor<float>::randn({batch, 3, 512}, Philox{1})));
    std::vector<std::int64_t> delta(batch);
    for (int b = 0; b < batch; ++b) delta[b] = (2 * b) % 8;
    const auto t = bench::time_gpu([&] { (void)gpu.synthesize(w, delta); }, repeats);
    std::printf("| 256² | %d | %.3f | %.3f | %.1f | %.0f | %.0f |\n", batch, t.median_ms, t.median_ms / batch,
                1000.0 * batch / t.median_ms, t.peak_mib, t.extra_mib);
  }
}
