// bench_alis_gpu: ALIS frames on the GPU. alis::Official<256> (24,111,298 parameters, seeded random init,
// noise off) rendered by alis::Generator<C, float, Cuda> (the CUDA conv ops), batch 1 and 16, with the
// convolutions in fp32 and in bf16 (backend::cuda::ConvPrecisionScope: bf16 GEMM operands, fp32
// accumulation; everything else fp32): the median time of a synthesis call (mapped anchors given), frames
// per second, the memory pool's peak, and for bf16 the largest |bf16 - fp32| of the frames relative to the
// largest |fp32|. Each precision twice: plain calls of g.synthesize, and the same call replayed from a recorded
// CUDA graph (render::AlisFrameRenderer, as pixsyn panorama --device cuda renders frames; "vs plain": its frames
// bit for bit equal to the plain call's, or not); the replayed rows' memory is the graph's own (its high-water
// mark, cudaGraphMemAttrUsedMemHigh), not the pool's. Compare with bench/alis_torch.py (the official
// code) run in the same session on the same GPU.
//
//   bench_alis_gpu [repeats]
//   bench_alis_gpu --profile   one warm batch-16 bf16 call between cudaProfilerStart/Stop, for
//                              `ncu --profile-from-start off` (no table)
#include <cuda_profiler_api.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <pixsyn/backend/cuda/conv.hpp>
#include <pixsyn/models/alis.hpp>
#include <pixsyn/render/alis_frame_renderer.hpp>
#include <vector>

#include "gpu_timing.hpp"

using namespace pixsyn;
using backend::cuda::Precision;

namespace {

// The largest |a - b| over the largest |b|.
double relative_error(const Tensor<float>& a, const Tensor<float>& b) {
  double err = 0, scale = 0;
  for (std::int64_t i = 0; i < b.numel(); ++i) {
    err = std::max(err, std::abs(double(a.data()[i]) - double(b.data()[i])));
    scale = std::max(scale, std::abs(double(b.data()[i])));
  }
  return err / scale;
}

}  // namespace

int main(int argc, char** argv) {
  const bool profile = argc > 1 && std::strcmp(argv[1], "--profile") == 0;
  const int repeats = argc > 1 && !profile ? std::atoi(argv[1]) : 10;
  if (repeats < 1) {
    std::fprintf(stderr, "usage: bench_alis_gpu [repeats >= 1 | --profile]\n");
    return 2;
  }
  const alis::Official<256> cpu(0);
  alis::Official<256, float, Cuda> gpu;
  gpu.load_state_dict(alis::weights_on<Cuda>(cpu));
  if (profile) {
    const auto w = to_device(cpu.map(Tensor<float>::randn({16, 3, 512}, Philox{1})));
    std::vector<std::int64_t> delta(16);
    for (int b = 0; b < 16; ++b) delta[b] = (2 * b) % 8;
    const backend::cuda::ConvPrecisionScope scope(Precision::bf16);
    (void)gpu.synthesize(w, delta);  // warm: workspaces and cuBLAS heuristics
    bench::check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    bench::check(cudaProfilerStart(), "cudaProfilerStart");
    (void)gpu.synthesize(w, delta);
    bench::check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    bench::check(cudaProfilerStop(), "cudaProfilerStop");
    return 0;
  }
  cudaDeviceProp prop{};
  bench::check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  std::printf("bench_alis_gpu: alis::Official<256> (%lld parameters), %s, noise off, median of %d calls\n",
              static_cast<long long>(cpu.parameter_count()), prop.name, repeats);
  std::printf(
      "| size | batch | convolutions | call | ms/call | ms/frame | frames/s | peak MiB | extra MiB | vs fp32 | vs "
      "plain "
      "|\n|---|---:|---|---|---:|---:|---:|---:|---:|---:|---|\n");
  const auto row = [](int batch, bool half, const char* call, const bench::GpuTiming& t, double err, const char* same) {
    std::printf("| 256² | %d | %s | %s | %.3f | %.3f | %.1f | %.0f | %.0f | %.1e | %s |\n", batch,
                half ? "bf16" : "fp32", call, t.median_ms, t.median_ms / batch, 1000.0 * batch / t.median_ms,
                t.peak_mib, t.extra_mib, err, same);
  };
  for (int batch : {1, 16}) {
    const auto w = to_device(cpu.map(Tensor<float>::randn({batch, 3, 512}, Philox{1})));
    std::vector<std::int64_t> delta(batch);
    for (int b = 0; b < batch; ++b) delta[b] = (2 * b) % 8;
    const auto fp32 = to_host(gpu.synthesize(w, delta));
    for (const Precision precision : {Precision::fp32, Precision::bf16}) {
      const backend::cuda::ConvPrecisionScope scope(precision);
      const bool half = precision == Precision::bf16;
      const auto plain = to_host(gpu.synthesize(w, delta));
      const double err = half ? relative_error(plain, fp32) : 0.0;
      row(batch, half, "plain", bench::time_gpu([&] { (void)gpu.synthesize(w, delta); }, repeats), err, "-");
      std::uint64_t graph_bytes = 0;  // the high-water mark of this row's graph
      bench::check(cudaDeviceSetGraphMemAttribute(0, cudaGraphMemAttrUsedMemHigh, &graph_bytes),
                   "cudaDeviceSetGraphMemAttribute");
      // The warm-up's three calls: plain, recorded, replayed.
      render::AlisFrameRenderer<decltype(gpu)> render(gpu);
      auto t = bench::time_gpu([&] { (void)render(w, delta); }, repeats);
      if (render.last_path() != decltype(render)::Path::replayed) {
        std::fprintf(stderr, "bench_alis_gpu: the call was not recorded (a capture error); no replayed row\n");
        return 1;
      }
      bench::check(cudaDeviceGetGraphMemAttribute(0, cudaGraphMemAttrUsedMemHigh, &graph_bytes),
                   "cudaDeviceGetGraphMemAttribute");
      t.peak_mib = t.extra_mib = static_cast<double>(graph_bytes) / (1 << 20);
      const bool same = to_host(render(w, delta)).to_vector() == plain.to_vector();
      row(batch, half, "replayed", t, err, same ? "equal" : "DIFFERS");
    }
  }
}
