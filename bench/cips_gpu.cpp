// bench_cips_gpu: the fused GPU render of CIPS-skips 256 (random weights: the speed does not depend on
// them) at the official benchmark sizes, fp32 (the fused 3×TF32 layers, cuBLAS 3×TF32 and SGEMM) and bf16
// (fused and cuBLAS), with seeded per-pixel noise (the official forward draws fresh noise too). Prints
// each fp32 mode's error against the CPU render, then ms per call (median of CUDA-event timings after
// warm-up), ms per image, achieved TFLOP/s (6.80 MFLOP per pixel) and peak GPU memory.
//   bench_cips_gpu [repeats] [--official FILE]   FILE: "size batch ms" lines of the official code measured
//                                                 on the same GPU (bench/cips_official_gpu.py --out FILE)
//   bench_cips_gpu --huge      one 16384 x 16384 image instead (see huge())
//   bench_cips_gpu --profile   only 256² batch 16 bf16, for a profiler
//   bench_cips_gpu --fp32      only the fp32 errors and the fp32 paths' times at four sizes
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gpu_timing.hpp"
#include "pixsyn/backend/cuda/split_gemm.hpp"
#include "pixsyn/coords/grid.hpp"
#include "pixsyn/models/cips.hpp"
#include "pixsyn/render/cuda_cips.hpp"
#include "pixsyn/render/tiled.hpp"

namespace {

using namespace pixsyn;
using Model = cips::Skips<256>;
constexpr double flop_per_pixel = 6.80e6;

using bench::check;

struct Row {
  int size, batch;
};

// The official code's ms per call by (size, batch), from bench/cips_official_gpu.py's --out file.
std::map<std::pair<int, int>, double> read_official(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "bench_cips_gpu: cannot read %s\n", path.c_str());
    std::exit(1);
  }
  std::map<std::pair<int, int>, double> ms;
  int size = 0, batch = 0;
  double t = 0;
  while (in >> size >> batch >> t) ms[{size, batch}] = t;
  return ms;
}

using Result = bench::GpuTiming;

Result measure(render::CudaCips<Model::config>& fast, const Tensor<float, Cuda>& w, int size,
               const render::CudaRenderOptions& options, int repeats) {
  return bench::time_gpu([&] { fast.render_grid(w, size, size, options); }, repeats);
}

// The ceilings: one 512x512 layer's GEMM over `pixels` (strided-batched over 16 samples, the shape of the
// render's GEMMs) with cuBLAS alone, and a device-to-device copy. fp32 four ways on random data, each with
// its error against fp64 sums (max-norm relative, on sampled outputs): SGEMM, plain TF32, cuBLAS's BF16x9
// emulation (CUBLAS_COMPUTE_32F_EMULATED_16BFX9, strategy EAGER: does it run on this GPU, and how
// accurately?) and pixsyn's 3×TF32 split GEMM (backend/cuda/split_gemm.hpp; operands split beforehand,
// as the renderer's kernels write them).
void ceilings(int repeats) {
  cublasHandle_t handle;
  if (cublasCreate(&handle) != CUBLAS_STATUS_SUCCESS) std::exit(1);
  const auto stream = static_cast<cudaStream_t>(backend::cuda::Context::instance().stream());
  cublasSetStream(handle, stream);  // the split GEMM runs on the context's stream: time everything there
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  auto time = [&](auto&& fn) {
    fn();
    std::vector<double> ms;
    for (int i = 0; i < repeats; ++i) {
      check(cudaEventRecord(start, stream), "cudaEventRecord");
      fn();
      check(cudaEventRecord(stop, stream), "cudaEventRecord");
      check(cudaEventSynchronize(stop), "cudaEventSynchronize");
      float t = 0;
      check(cudaEventElapsedTime(&t, start, stop), "cudaEventElapsedTime");
      ms.push_back(t);
    }
    std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
    return ms[ms.size() / 2];
  };
  constexpr long long k = 512, samples = 16, max_n = 65536;
  const std::size_t max_pixels = samples * max_n;
  void *a, *x, *y, *a3, *x3;
  check(cudaMalloc(&a, samples * k * k * 4), "cudaMalloc");
  check(cudaMalloc(&x, max_pixels * k * 4), "cudaMalloc");
  check(cudaMalloc(&y, max_pixels * k * 4), "cudaMalloc");
  check(cudaMalloc(&a3, samples * k * 3 * k * 4), "cudaMalloc");
  check(cudaMalloc(&x3, max_pixels * 3 * k * 4), "cudaMalloc");
  auto* af = static_cast<float*>(a);
  auto* xf = static_cast<float*>(x);
  backend::cuda::random_normal(af, samples * k * k, 11, 0);
  backend::cuda::random_normal(xf, static_cast<std::int64_t>(max_pixels * k), 12, 0);
  backend::cuda::split_tf32(samples * k, k, af, backend::cuda::SplitSide::right, static_cast<float*>(a3));
  backend::cuda::split_tf32(static_cast<std::int64_t>(max_pixels), k, xf, backend::cuda::SplitSide::left,
                            static_cast<float*>(x3));
  backend::cuda::synchronize();

  // y (512, n) per sample, column-major: y = Aᵀ x, A (512, 512) and x (512, n) column-major.
  auto gemm = [&](long long n, cudaDataType_t type, cublasComputeType_t compute) {
    const float one = 1, zero = 0;
    return cublasGemmStridedBatchedEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, int(k), int(n), int(k), &one, a, type, int(k),
                                      k * k, x, type, int(k), n * k, &zero, y, type, int(k), n * k, int(samples),
                                      compute, CUBLAS_GEMM_DEFAULT);
  };
  // The same products through the split operands: row-major y (n, 512) = x_split a_splitᵀ per sample.
  auto split = [&](long long n, int accumulations) {
    backend::cuda::split_tf32_gemm(samples, n, k, k, static_cast<const float*>(x3), n * 3 * k,
                                   static_cast<const float*>(a3), k * 3 * k, static_cast<float*>(y), n * k,
                                   accumulations);
  };
  // max |y - exact| / max |exact| over 4096 sampled outputs of the n = 4096 product, sums in double.
  auto error = [&](long long n) {
    backend::cuda::synchronize();
    std::vector<float> ha(samples * k * k), hx(samples * n * k), hy(samples * n * k);
    check(cudaMemcpy(ha.data(), a, ha.size() * 4, cudaMemcpyDeviceToHost), "cudaMemcpy");
    for (long long s = 0; s < samples; ++s)
      check(cudaMemcpy(hx.data() + s * n * k, xf + s * n * k, n * k * 4, cudaMemcpyDeviceToHost), "cudaMemcpy");
    check(cudaMemcpy(hy.data(), y, hy.size() * 4, cudaMemcpyDeviceToHost), "cudaMemcpy");
    double err = 0, scale = 0;
    for (long long t = 0; t < 4096; ++t) {
      const long long s = t % samples, j = (t * 7919) % n, m = (t * 104729) % k;
      double sum = 0;
      for (long long q = 0; q < k; ++q) sum += double(ha[s * k * k + m * k + q]) * double(hx[s * n * k + j * k + q]);
      err = std::max(err, std::abs(double(hy[s * n * k + j * k + m]) - sum));
      scale = std::max(scale, std::abs(sum));
    }
    return err / scale;
  };
  cublasSetEmulationStrategy(handle, CUBLAS_EMULATION_STRATEGY_EAGER);
  std::printf("ceilings: cuBLAS GEMM m=512 k=512, n = pixels per sample, 16 samples (strided-batched)\n");
  struct Fp32Mode {
    const char* name;
    cublasComputeType_t compute;
    int accumulations;  // > 0: the split GEMM with this many accumulations, else one cuBLAS call
  };
  for (const auto& [name, compute, accumulations] :
       {Fp32Mode{"fp32 SGEMM", CUBLAS_COMPUTE_32F, 0}, Fp32Mode{"fp32 TF32", CUBLAS_COMPUTE_32F_FAST_TF32, 0},
        Fp32Mode{"fp32 BF16x9", CUBLAS_COMPUTE_32F_EMULATED_16BFX9, 0},
        Fp32Mode{"fp32 3xTF32 acc 1", CUBLAS_COMPUTE_32F_FAST_TF32, 1},
        Fp32Mode{"fp32 3xTF32 acc 2", CUBLAS_COMPUTE_32F_FAST_TF32, 2},
        Fp32Mode{"fp32 3xTF32 acc 4", CUBLAS_COMPUTE_32F_FAST_TF32, 4}}) {
    const bool ours = accumulations > 0;
    const cublasStatus_t status = ours ? CUBLAS_STATUS_SUCCESS : gemm(4096, CUDA_R_32F, compute);
    if (status != CUBLAS_STATUS_SUCCESS) {
      std::printf("  %-18s: cuBLAS refuses it here: %s\n", name, cublasGetStatusName(status));
      continue;
    }
    if (ours) split(4096, accumulations);
    const double err = error(4096);
    for (long long n : {1024, 4096, 16384, 65536}) {
      const double ms = time([&] { ours ? split(n, accumulations) : void(gemm(n, CUDA_R_32F, compute)); });
      std::printf("  %-18s n=%6lld: %8.3f ms  %6.1f TFLOP/s  (error %.1e)\n", name, n, ms,
                  2.0 * k * k * n * samples / (ms * 1e9), err);
    }
  }
  check(cudaMemset(a, 0x3c, samples * k * k * 4), "cudaMemset");  // small non-zero values in either type
  check(cudaMemset(x, 0x3c, max_pixels * k * 4), "cudaMemset");
  for (long long n : {1024, 4096, 16384, 65536}) {
    const double ms = time([&] { gemm(n, CUDA_R_16BF, CUBLAS_COMPUTE_32F); });
    std::printf("  %-18s n=%6lld: %8.3f ms  %6.1f TFLOP/s\n", "bf16", n, ms, 2.0 * k * k * n * samples / (ms * 1e9));
  }
  const double copy_ms = time([&] { cudaMemcpyAsync(y, x, max_pixels * k * 4, cudaMemcpyDeviceToDevice, stream); });
  std::printf("  device-to-device copy of 2 GiB: %.3f ms, %.0f GB/s (read + write)\n\n", copy_ms,
              2.0 * max_pixels * k * 4 / (copy_ms * 1e6));
  cudaFree(a), cudaFree(x), cudaFree(y), cudaFree(a3), cudaFree(x3);
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

// One GPU render path: precision, fused layers, CudaRenderOptions::tf32_split, and its name in the tables.
struct Path {
  render::Precision precision;
  bool fused;
  int split;
  const char* name;
};
// fp32: the fused 3×TF32 layers (the default where the GPU has them), the cuBLAS 3×TF32 split GEMMs (2, 1
// and 4 accumulations), SGEMM; bf16: the fused Hopper layers (the default where the GPU has them), then
// cuBLAS + epilogue passes.
constexpr Path paths[] = {{render::Precision::fp32, true, backend::cuda::default_split_accumulations, "fp32"},
                          {render::Precision::fp32, false, backend::cuda::default_split_accumulations, "fp32-split"},
                          {render::Precision::fp32, false, 1, "fp32-acc1"},
                          {render::Precision::fp32, false, 4, "fp32-acc4"},
                          {render::Precision::fp32, false, 0, "fp32-sgemm"},
                          {render::Precision::bf16, true, 0, "bf16"},
                          {render::Precision::bf16, false, 0, "bf16-cublas"}};

// Each fp32 path's error at the full model's shapes: a 32 x 32 render of 2 samples with seeded noise against
// the CPU render (max |gpu - cpu| / max |cpu|; the tests bound it by 1e-5 on smaller models).
void accuracy(render::CudaCips<Model::config>& fast, const Model& g) {
  const auto w = g.map(Tensor<float>::randn({2, Model::config.style_dim}, Philox{3}));
  const auto grid = coords::grid<float>(32, 32);
  const auto cpu =
      render::render_image(g, w, grid, render::RenderOptions<float>{.noise = cips::NoiseMode::seeded, .noise_seed = 5});
  double scale = 0;
  for (std::int64_t i = 0; i < cpu.numel(); ++i) scale = std::max(scale, double(std::abs(cpu.data()[i])));
  std::printf("fp32 error against the CPU render (32x32, 2 samples, max-norm relative):");
  for (const auto& [precision, fused, split, name] : paths) {
    if (precision != render::Precision::fp32) continue;
    const auto gpu = fast.render_image(w, grid,
                                       render::CudaRenderOptions{.precision = precision,
                                                                 .noise = cips::NoiseMode::seeded,
                                                                 .noise_seed = 5,
                                                                 .fused_layers = fused,
                                                                 .tf32_split = split});
    double err = 0;
    for (std::int64_t i = 0; i < cpu.numel(); ++i)
      err = std::max(err, std::abs(double(gpu.data()[i]) - double(cpu.data()[i])));
    std::printf("  %s %.2e", name, err / scale);
  }
  std::printf("\n\n");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string first = argc > 1 ? argv[1] : "";
  const bool huge_only = first == "--huge";
  const int repeats = argc > 1 && first[0] != '-' ? std::max(10, std::atoi(argv[1])) : 30;
  std::map<std::pair<int, int>, double> official;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--official") official = read_official(argv[i + 1]);
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
  if (first == "--profile") {  // one configuration, for nsys / ncu
    const auto w = to_device(g.map(Tensor<float>::randn({16, Model::config.style_dim}, Philox{7})));
    const render::CudaRenderOptions options{.precision = render::Precision::bf16, .noise = cips::NoiseMode::seeded};
    const auto r = measure(fast, w, 256, options, 5);
    std::printf("256x256 batch 16 bf16: %.3f ms\n", r.median_ms);
    return 0;
  }
  accuracy(fast, g);
  if (first == "--fp32") {  // the fp32 paths alone, for a quick comparison
    const Row fp32_rows[] = {{256, 1}, {256, 16}, {512, 1}, {1024, 1}};
    for (const auto& row : fp32_rows) {
      const auto w = to_device(g.map(Tensor<float>::randn({row.batch, Model::config.style_dim}, Philox{7})));
      for (const auto& [precision, fused, split, name] : paths) {
        if (precision != render::Precision::fp32) continue;
        const render::CudaRenderOptions options{.precision = precision,
                                                .noise = cips::NoiseMode::seeded,
                                                .noise_seed = 1,
                                                .fused_layers = fused,
                                                .tf32_split = split};
        const auto r = measure(fast, w, row.size, options, 10);
        std::printf("%4dx%-5d %5d %11s %10.3f ms  %6.1f TFLOP/s\n", row.size, row.size, row.batch, name, r.median_ms,
                    double(row.size) * row.size * row.batch * flop_per_pixel / (r.median_ms * 1e9));
        std::fflush(stdout);
      }
    }
    return 0;
  }
  ceilings(repeats);
  const Row rows[] = {{256, 1}, {256, 4}, {256, 16}, {512, 1}, {512, 4}, {1024, 1}};
  std::printf("%-10s %5s %11s %10s %9s %9s %10s %10s %12s %8s\n", "size", "batch", "prec", "ms/call", "ms/image",
              "TFLOP/s", "peak MiB", "extra MiB", "official ms", "speedup");
  for (const auto& row : rows) {
    const auto w = to_device(g.map(Tensor<float>::randn({row.batch, Model::config.style_dim}, Philox{7})));
    for (const auto& [precision, fused, split, name] : paths) {
      const render::CudaRenderOptions options{.precision = precision,
                                              .noise = cips::NoiseMode::seeded,
                                              .noise_seed = 1,
                                              .fused_layers = fused,
                                              .tf32_split = split};
      const auto r = measure(fast, w, row.size, options, repeats);
      const double pixels = double(row.size) * row.size * row.batch;
      char official_ms[32] = "-", speedup[32] = "-";
      if (const auto it = official.find({row.size, row.batch}); it != official.end()) {
        std::snprintf(official_ms, sizeof official_ms, "%.1f", it->second);
        std::snprintf(speedup, sizeof speedup, "%.1fx", it->second / r.median_ms);
      }
      std::printf("%4dx%-5d %5d %11s %10.3f %9.3f %9.1f %10.0f %10.0f %12s %8s\n", row.size, row.size, row.batch, name,
                  r.median_ms, r.median_ms / row.batch, pixels * flop_per_pixel / (r.median_ms * 1e9), r.peak_mib,
                  r.extra_mib, official_ms, speedup);
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
