// bench_cips_gpu: the fused GPU render of CIPS-skips 256 (random weights: the speed does not depend on
// them) at the official benchmark sizes, fp32 and bf16, with seeded per-pixel noise (the official
// forward draws fresh noise too). Prints ms per call (median of CUDA-event timings after warm-up), ms
// per image, achieved TFLOP/s (6.80 MFLOP per pixel) and peak GPU memory, next to the official code.
// `bench_cips_gpu --huge` renders one 16384 x 16384 image instead (see huge()); `--profile` times
// only 256² batch 16 bf16, for a profiler.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "pixsyn/coords/grid.hpp"
#include "pixsyn/models/cips.hpp"
#include "pixsyn/render/cuda_cips.hpp"

namespace {

using namespace pixsyn;
using Model = cips::Skips<256>;
constexpr double flop_per_pixel = 6.80e6;

void check(cudaError_t err, const char* call) {
  if (err != cudaSuccess) {
    std::fprintf(stderr, "%s: %s\n", call, cudaGetErrorString(err));
    std::exit(1);
  }
}

struct Row {
  int size, batch;
  double official_ms;  // 0: not measured
};

struct Result {
  double median_ms, peak_mib, extra_mib;
};

Result measure(render::CudaCips<Model::config>& fast, const Tensor<float, Cuda>& w, int size,
               const render::CudaRenderOptions& options, int repeats) {
  auto stream = static_cast<cudaStream_t>(backend::cuda::Context::instance().stream());
  backend::cuda::synchronize();
  const std::size_t before = backend::cuda::pool_used_bytes();
  backend::cuda::reset_pool_peak();
  for (int i = 0; i < 3; ++i) fast.render_grid(w, size, size, options);  // warm-up: workspace, graph, clocks
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    check(cudaEventRecord(start, stream), "cudaEventRecord");
    const auto out = fast.render_grid(w, size, size, options);
    check(cudaEventRecord(stop, stream), "cudaEventRecord");
    check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float t = 0;
    check(cudaEventElapsedTime(&t, start, stop), "cudaEventElapsedTime");
    ms.push_back(t);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  const double peak = static_cast<double>(backend::cuda::pool_peak_bytes());
  return {ms[ms.size() / 2], peak / (1 << 20), (peak - static_cast<double>(before)) / (1 << 20)};
}

// The two ceilings: one 512x512 layer's GEMM over `pixels` (strided-batched over 16 samples, the shape
// of the render's GEMMs) with cuBLAS alone, and a device-to-device copy.
void ceilings(int repeats) {
  cublasHandle_t handle;
  if (cublasCreate(&handle) != CUBLAS_STATUS_SUCCESS) std::exit(1);
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  auto time = [&](auto&& fn) {
    fn();
    std::vector<double> ms;
    for (int i = 0; i < repeats; ++i) {
      check(cudaEventRecord(start), "cudaEventRecord");
      fn();
      check(cudaEventRecord(stop), "cudaEventRecord");
      check(cudaEventSynchronize(stop), "cudaEventSynchronize");
      float t = 0;
      check(cudaEventElapsedTime(&t, start, stop), "cudaEventElapsedTime");
      ms.push_back(t);
    }
    std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
    return ms[ms.size() / 2];
  };
  const std::size_t max_pixels = 1 << 20;
  void *a, *x, *y;
  check(cudaMalloc(&a, 16 * 512 * 512 * 4), "cudaMalloc");
  check(cudaMalloc(&x, max_pixels * 512 * 4), "cudaMalloc");
  check(cudaMalloc(&y, max_pixels * 512 * 4), "cudaMalloc");
  check(cudaMemset(a, 0x3c, 16 * 512 * 512 * 4), "cudaMemset");  // small non-zero values in either type
  check(cudaMemset(x, 0x3c, max_pixels * 512 * 4), "cudaMemset");
  std::printf("ceilings: cuBLAS GEMM m=512 k=512, n = pixels per sample, 16 samples (strided-batched)\n");
  for (bool half : {false, true})
    for (long long n : {1024, 4096, 16384, 65536}) {
      const float one = 1, zero = 0;
      const auto type = half ? CUDA_R_16BF : CUDA_R_32F;
      const double ms = time([&] {
        cublasGemmStridedBatchedEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, 512, int(n), 512, &one, a, type, 512, 512 * 512, x,
                                   type, 512, n * 512, &zero, y, type, 512, n * 512, 16, CUBLAS_COMPUTE_32F,
                                   CUBLAS_GEMM_DEFAULT);
      });
      std::printf("  %s n=%6lld: %8.3f ms  %6.1f TFLOP/s\n", half ? "bf16" : "fp32", n, ms,
                  2.0 * 512 * 512 * n * 16 / (ms * 1e9));
    }
  const double copy_ms = time([&] { cudaMemcpyAsync(y, x, max_pixels * 512 * 4, cudaMemcpyDeviceToDevice); });
  std::printf("  device-to-device copy of 2 GiB: %.3f ms, %.0f GB/s (read + write)\n\n", copy_ms,
              2.0 * max_pixels * 512 * 4 / (copy_ms * 1e6));
  cudaFree(a), cudaFree(x), cudaFree(y);
  cudaEventDestroy(start), cudaEventDestroy(stop);
  cublasDestroy(handle);
}

// A 16384 x 16384 image (batch 1), fp32 and bf16, default workspace budget. The image goes to the host in
// bands of 512 rows (render_points of coords::grid_rect: the full grid's coordinates), so the GPU holds the
// weights, the workspace and one band (64 MiB of points, 96 MiB of RGB) however large the image; the whole
// image on the GPU would be 3 GiB. Noise off: render_points numbers the noise by position in the band.
void huge(render::CudaCips<Model::config>& fast, const Model& g) {
  constexpr std::int64_t side = 16384, band = 512;
  const auto w = to_device(g.map(Tensor<float>::randn({1, Model::config.style_dim}, Philox{7})));
  auto image = Tensor<float>::empty({3, side, side});
  for (auto precision : {render::Precision::fp32, render::Precision::bf16}) {
    backend::cuda::synchronize();
    const std::size_t before = backend::cuda::pool_used_bytes();
    backend::cuda::reset_pool_peak();
    const auto start = std::chrono::steady_clock::now();
    for (std::int64_t row0 = 0; row0 < side; row0 += band) {
      const auto rgb = to_host(fast.render_points(w, coords::grid_rect<float>(side, side, row0, 0, band, side),
                                                  render::CudaRenderOptions{.precision = precision}));
      for (int c = 0; c < 3; ++c)
        std::copy(rgb.data() + c * band * side, rgb.data() + (c + 1) * band * side,
                  image.data() + (c * side + row0) * side);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double peak = static_cast<double>(backend::cuda::pool_peak_bytes());
    const auto finite =
        std::count_if(image.data(), image.data() + image.numel(), [](float v) { return std::isfinite(v); });
    std::printf("%lldx%lld batch 1 %s, noise off: %.2f s (%.1f TFLOP/s), peak %.0f MiB (extra %.0f MiB), %s\n",
                static_cast<long long>(side), static_cast<long long>(side),
                precision == render::Precision::fp32 ? "fp32" : "bf16", seconds,
                double(side) * side * flop_per_pixel / (seconds * 1e12), peak / (1 << 20),
                (peak - static_cast<double>(before)) / (1 << 20),
                finite == image.numel() ? "all values finite" : "NON-FINITE VALUES");
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const bool huge_only = argc > 1 && std::string(argv[1]) == "--huge";
  const int repeats = argc > 1 && !huge_only ? std::max(20, std::atoi(argv[1])) : 30;
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, backend::cuda::Context::instance().device()), "cudaGetDeviceProperties");
  std::printf("bench_cips_gpu: CIPS-skips 256 (44.3M parameters), %s, seeded noise, median of %d calls\n", prop.name,
              repeats);

  Model g(1);
  render::CudaCips<Model::config> fast(g);
  if (huge_only) {
    huge(fast, g);
    return 0;
  }
  if (argc > 1 && std::string(argv[1]) == "--profile") {  // one configuration, for nsys / ncu
    const auto w = to_device(g.map(Tensor<float>::randn({16, Model::config.style_dim}, Philox{7})));
    const render::CudaRenderOptions options{.precision = render::Precision::bf16, .noise = cips::NoiseMode::seeded};
    const auto r = measure(fast, w, 256, options, 5);
    std::printf("256x256 batch 16 bf16: %.3f ms\n", r.median_ms);
    return 0;
  }
  ceilings(repeats);
  const Row rows[] = {{256, 1, 7.2}, {256, 4, 0}, {256, 16, 162}, {512, 1, 0}, {512, 4, 169}, {1024, 1, 87.5}};
  // bf16: the fused Hopper layers (the default where the GPU has them), then cuBLAS + epilogue passes.
  std::printf("%-10s %5s %11s %10s %9s %9s %10s %10s %12s %8s\n", "size", "batch", "prec", "ms/call", "ms/image",
              "TFLOP/s", "peak MiB", "extra MiB", "official ms", "speedup");
  for (const auto& row : rows) {
    const auto w = to_device(g.map(Tensor<float>::randn({row.batch, Model::config.style_dim}, Philox{7})));
    for (auto [precision, fused] : {std::pair{render::Precision::fp32, false}, std::pair{render::Precision::bf16, true},
                                    std::pair{render::Precision::bf16, false}}) {
      const render::CudaRenderOptions options{
          .precision = precision, .noise = cips::NoiseMode::seeded, .noise_seed = 1, .fused_layers = fused};
      const auto r = measure(fast, w, row.size, options, repeats);
      const double pixels = double(row.size) * row.size * row.batch;
      char official[32] = "-", speedup[32] = "-";
      if (row.official_ms > 0) {
        std::snprintf(official, sizeof official, "%.1f", row.official_ms);
        std::snprintf(speedup, sizeof speedup, "%.1fx", row.official_ms / r.median_ms);
      }
      std::printf("%4dx%-5d %5d %11s %10.3f %9.3f %9.1f %10.0f %10.0f %12s %8s\n", row.size, row.size, row.batch,
                  precision == render::Precision::fp32 ? "fp32"
                  : fused                              ? "bf16"
                                                       : "bf16-cublas",
                  r.median_ms, r.median_ms / row.batch, pixels * flop_per_pixel / (r.median_ms * 1e9), r.peak_mib,
                  r.extra_mib, official, speedup);
      std::fflush(stdout);
    }
  }

  // Tile size and graph replay at 256² batch 16, bf16: where the time goes.
  std::printf("\n256x256 batch 16 bf16, by tile size (sample-points per tile) and graph replay:\n");
  const auto w16 = to_device(g.map(Tensor<float>::randn({16, Model::config.style_dim}, Philox{7})));
  for (std::int64_t tile : {65536, 262144, 1048576})
    for (bool graph : {true, false})
      for (bool noise : {true, false}) {
        const render::CudaRenderOptions options{.precision = render::Precision::bf16,
                                                .noise = noise ? cips::NoiseMode::seeded : cips::NoiseMode::off,
                                                .max_pixels = tile,
                                                .graph = graph};
        const auto r = measure(fast, w16, 256, options, repeats);
        std::printf("  tile %8lld  graph %-3s  noise %-3s  %8.3f ms  %6.1f TFLOP/s  peak %6.0f MiB\n",
                    static_cast<long long>(tile), graph ? "on" : "off", noise ? "on" : "off", r.median_ms,
                    16.0 * 65536 * flop_per_pixel / (r.median_ms * 1e9), r.peak_mib);
        std::fflush(stdout);
      }
  return 0;
}
