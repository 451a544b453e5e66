// bench_creps_gpu: the fused GPU render of the official CREPS (--cfg=creps: widths min(65536/r, 1024),
// K = 32, D = 8) at 256² and 512², fp32 and the 16-bit mode (Precision::bf16, whose operands are fp16 for
// CREPS: rows "fp16"), random weights (the speed does not depend on them).
// Prints ms per call (median of CUDA-event timings after warm-up), ms per image, TFLOP/s and peak GPU
// memory. The "bi-line" column renders the diagonal point set of the same row and column coordinates:
// the same bi-line path, almost no per-pixel work, so the per-pixel part is the difference. "vs fp32" is
// ‖image − fp32 image‖₂ / ‖fp32 image‖₂ against the first (3×TF32) row. `bench_creps_gpu --profile` renders 256² batch
// 16 in the 16-bit mode only.
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "gpu_timing.hpp"
#include "pixsyn/backend/cuda/creps_fast.hpp"
#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/core/philox.hpp"
#include "pixsyn/core/tensor.hpp"

namespace {

using namespace pixsyn;
using backend::cuda::CrepsRenderOptions;
using backend::cuda::CrepsWeights;
using backend::cuda::Precision;

constexpr std::int64_t k = 32, rank = 8, style_dim = 512;

std::int64_t width(std::int64_t r) { return std::min<std::int64_t>(65536 / r, 1024); }

// The official model's shapes at `size`, with random weights on the official scales.
CrepsWeights official(std::int64_t size) {
  std::uint64_t seed = 1;
  auto normal = [&](std::int64_t n, double scale, double offset = 0) {
    auto v = Tensor<float>::randn({n}, Philox{seed++}).to_vector();
    for (auto& x : v) x = static_cast<float>(x * scale + offset);
    return v;
  };
  const double affine = 1 / std::sqrt(double(style_dim));
  auto modulated = [&](std::int64_t in, std::int64_t out, double gain) {
    return backend::cuda::ModulatedLayer{.in = in,
                                         .out = out,
                                         .weight = normal(in * out, gain),
                                         .modulation = normal(in * style_dim, affine),
                                         .modulation_bias = normal(in, 0.1, 1),
                                         .bias = normal(out, 0.1)};
  };
  auto linear = [&](std::int64_t in, std::int64_t out) {
    return backend::cuda::LinearLayer{in, out, normal(in * out, 1 / std::sqrt(double(in))), normal(out, 0.1)};
  };
  auto decoder = [&] {
    return std::array<backend::cuda::LinearLayer, 4>{linear(k, 2 * k), linear(2 * k, 4 * k), linear(4 * k, 2 * k),
                                                     linear(2 * k, k)};
  };
  CrepsWeights m;
  const std::int64_t c = width(4);
  m.style_dim = style_dim, m.channels = k, m.rank = rank, m.input_channels = c;
  m.freqs = normal(c / 2 * rank, 10);
  m.input_weight = normal(c * 2 * rank, 1);
  m.input_modulation = normal(c * 2 * rank * style_dim, affine);
  m.input_modulation_bias = normal(c * 2 * rank, 0.1, 1);
  m.fcs.push_back(modulated(c, c, 1));
  for (std::int64_t r = 8; r <= size; r *= 2) {
    m.fcs.push_back(modulated(width(r / 2), width(r), 1));
    m.fcs.push_back(modulated(width(r), width(r), 1));
    m.tores.push_back(modulated(width(r), k, 1 / std::sqrt(double(width(r)))));
    if (r > 8) m.decoders.push_back(decoder());
  }
  m.decoder_last = decoder();
  m.decoder_img = linear(k, 3);
  m.block0 = {modulated(k, 4 * k, 1), modulated(4 * k, 4 * k, 1), modulated(4 * k, 3, 1 / std::sqrt(4.0 * k))};
  m.block1 = {modulated(4 * k, 2 * k, 1), modulated(2 * k, 2 * k, 1), modulated(2 * k, 3, 1 / std::sqrt(2.0 * k))};
  return m;
}

// Multiply-adds: per bi-line row (every fc and ToRes), per pixel (bi-line products, decoders, blocks).
std::pair<double, double> macs(const CrepsWeights& m) {
  double row = 0;
  for (const auto& l : m.fcs) row += double(l.in) * l.out;
  for (const auto& l : m.tores) row += double(l.in) * l.out;
  const double decoder = 2 * k * k + 8 * k * k + 8 * k * k + 2 * k * k;
  const double pixel = double(m.tores.size()) * k * rank + double(m.decoders.size() + 1) * decoder + 3 * k +
                       (4 * k * k + 16 * k * k + 12 * k + 8 * k * k + 4 * k * k + 6 * k);
  return {row, pixel};
}

struct Result {
  bench::GpuTiming timing;
  Tensor<float> image;
};

Result measure(backend::cuda::CrepsEngine& engine, const Tensor<float, Cuda>& w, std::int64_t size, bool diagonal,
               const CrepsRenderOptions& options, int repeats) {
  std::vector<float> coords(size);
  for (std::int64_t i = 0; i < size; ++i) coords[i] = float(i) / float(size - 1);
  const std::int64_t batch = w.dim(0);
  auto out = Tensor<float, Cuda>::empty({batch, 3, diagonal ? size : size * size});
  const auto timing = bench::time_gpu(
      [&] { engine.render(w.data(), batch, false, coords, coords, diagonal, out.data(), options); }, repeats);
  auto host = to_host(out);
  const auto finite = std::count_if(host.data(), host.data() + host.numel(), [](float v) { return std::isfinite(v); });
  if (finite != host.numel())
    std::printf("NON-FINITE OUTPUT (%lld values)\n", static_cast<long long>(host.numel() - finite));
  return {timing, std::move(host)};
}

double l2_error(const Tensor<float>& got, const Tensor<float>& want) {
  double e = 0, s = 0;
  for (std::int64_t i = 0; i < want.numel(); ++i) {
    const double d = double(got.data()[i]) - double(want.data()[i]);
    e += d * d, s += double(want.data()[i]) * want.data()[i];
  }
  return std::sqrt(e / s);
}

}  // namespace

int main(int argc, char** argv) {
  const bool profile = argc > 1 && std::string(argv[1]) == "--profile";
  const int repeats = argc > 1 && !profile ? std::max(5, std::atoi(argv[1])) : 20;
  cudaDeviceProp prop{};
  bench::check(cudaGetDeviceProperties(&prop, backend::cuda::Context::instance().device()), "cudaGetDeviceProperties");
  if (profile) {  // one configuration, for ncu
    backend::cuda::CrepsEngine engine(official(256));
    const auto w = to_device(Tensor<float>::randn({16, style_dim}, Philox{7}));
    const auto r = measure(engine, w, 256, false, {.precision = Precision::bf16}, 3);
    std::printf("256x256 batch 16 fp16: %.3f ms\n", r.timing.median_ms);
    return 0;
  }
  std::printf("bench_creps_gpu: official CREPS shapes (K 32, D 8), random weights, %s, median of %d calls\n", prop.name,
              repeats);
  std::printf("%-9s %5s %11s %9s %9s %9s %9s %9s %9s %9s\n", "size", "batch", "prec", "ms/call", "ms/image", "bi-line",
              "TFLOP/s", "peak MiB", "extra", "vs fp32");
  for (std::int64_t size : {256, 512}) {
    const CrepsWeights weights = official(size);
    const auto [row_macs, pixel_macs] = macs(weights);
    backend::cuda::CrepsEngine engine(weights);
    for (std::int64_t batch : {1, 16}) {
      const auto w = to_device(Tensor<float>::randn({batch, style_dim}, Philox{7}));
      Tensor<float> reference;
      // fp32: 3×TF32 split GEMMs (the default), then SGEMM; 16-bit: the fused Hopper layers, then cuBLAS.
      struct Mode {
        Precision precision;
        bool fused;
        int split;
        const char* name;
      };
      for (const Mode mode : {Mode{Precision::fp32, false, 2, "fp32"}, Mode{Precision::fp32, false, 0, "fp32-sgemm"},
                              Mode{Precision::bf16, true, 2, "fp16"}, Mode{Precision::bf16, false, 2, "fp16-cublas"}}) {
        const CrepsRenderOptions options{
            .precision = mode.precision, .fused_layers = mode.fused, .tf32_split = mode.split};
        const auto r = measure(engine, w, size, false, options, repeats);
        const auto d = measure(engine, w, size, true, options, repeats);
        const double flop = 2.0 * batch * (row_macs * rank * 2 * size + pixel_macs * size * size);
        char error[32] = "-";
        if (!reference.defined())
          reference = r.image;
        else
          std::snprintf(error, sizeof error, "%.2e", l2_error(r.image, reference));
        std::printf("%4lldx%-4lld %5lld %11s %9.3f %9.3f %9.3f %9.1f %9.0f %9.0f %9s\n", static_cast<long long>(size),
                    static_cast<long long>(size), static_cast<long long>(batch), mode.name, r.timing.median_ms,
                    r.timing.median_ms / batch, d.timing.median_ms, flop / (r.timing.median_ms * 1e9),
                    r.timing.peak_mib, r.timing.extra_mib, error);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
