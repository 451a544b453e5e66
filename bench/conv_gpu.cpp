// bench_conv_gpu: the CUDA convolution ops at ALIS's shapes, one op at a time: the median time of a call
// (CUDA events on pixsyn's stream, after warm-up) and the bytes of its input and output over that time (a
// lower bound of the memory traffic: im2col's workspace and the GEMMs come on top). Rows per resolution r:
//   G (batch 32 = 16 frames · 2 patches, x r × r/2, channels min(16384 / r, 512)): conv2d 3×3 (fp32, bf16),
//   its input and weight gradients (fp32, training), conv_transpose2d stride 2 from r/2 (fp32, bf16), the
//   [1,3,3,1] blur after it (upfirdn2d, pad 1, gain 4), upsample2d of the RGB image;
//   D (batch 16, x r × r): the blur before a strided conv (pad 2), that conv (3×3, stride 2), downsample2d.
// For before/after comparisons of the kernels in src/cuda/conv.cu and src/cuda/upfirdn2d.cu.
//
//   bench_conv_gpu [repeats] [largest r]
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <pixsyn/backend/cuda/conv.hpp>
#include <pixsyn/ops/conv.hpp>
#include <pixsyn/ops/upfirdn2d.hpp>
#include <string>

#include "gpu_timing.hpp"

using namespace pixsyn;
using backend::cuda::Precision;

namespace {

Tensor<float, Cuda> random(const Shape& shape, std::uint64_t seed) {
  return to_device(Tensor<float>::randn(shape, Philox{seed}));
}

struct Bench {
  int repeats;

  // One table row: `bytes` moved at least (inputs read, outputs written) by `call`.
  void row(const std::string& op, const Shape& x, Precision precision, double bytes,
           const std::function<void()>& call) const {
    const backend::cuda::ConvPrecisionScope scope(precision);
    const auto t = bench::time_gpu(call, repeats);
    std::printf("| %s | %s | %s | %.3f | %.0f |\n", op.c_str(), x.to_string().c_str(),
                precision == Precision::bf16 ? "bf16" : "fp32", t.median_ms, bytes / (t.median_ms * 1e6));
  }
};

double bytes_of(std::initializer_list<Shape> shapes) {
  double n = 0;
  for (const Shape& s : shapes) n += static_cast<double>(s.numel());
  return n * sizeof(float);
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 10;
  const int largest = argc > 2 ? std::atoi(argv[2]) : 256;
  if (repeats < 1 || largest < 8) {
    std::fprintf(stderr, "usage: bench_conv_gpu [repeats >= 1] [largest resolution >= 8]\n");
    return 2;
  }
  cudaDeviceProp prop{};
  bench::check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  std::printf("bench_conv_gpu: %s, median of %d calls\n", prop.name, repeats);
  std::printf("| op | x | precision | ms | GB/s (x + y) |\n|---|---|---|---:|---:|\n");
  const Bench bench{repeats};
  const auto filter = to_device(setup_filter<float>({1, 3, 3, 1}));
  const auto channels = [](std::int64_t r) { return std::min<std::int64_t>(16384 / r, 512); };
  std::uint64_t seed = 1;
  for (std::int64_t r = 8; r <= largest; r *= 2) {
    const std::int64_t c = channels(r), c_in = channels(r / 2), b = 32;
    // G: the 3×3 conv of a block, its gradients, the upsampling conv and its blur, the RGB upsampling.
    const auto x = random({b, c, r, r / 2}, ++seed), w = random({c, c, 3, 3}, ++seed);
    const Conv2dOptions same{.padding = 1};
    const auto y = conv2d(x, w, same);
    for (const Precision p : {Precision::fp32, Precision::bf16})
      bench.row("G conv2d 3x3", x.shape(), p, bytes_of({x.shape(), y.shape()}), [&] { (void)conv2d(x, w, same); });
    const auto dy = random(y.shape(), ++seed);
    bench.row("G conv2d input grad", x.shape(), Precision::fp32, bytes_of({x.shape(), y.shape()}),
              [&] { (void)conv_transpose2d(dy, w, {.padding = 1}); });
    bench.row("G conv2d weight grad", x.shape(), Precision::fp32, bytes_of({x.shape(), y.shape()}),
              [&] { (void)conv2d_weight_grad(x, dy, w.shape(), same); });
    const auto low = random({b, c_in, r / 2, r / 4}, ++seed), wt = random({c_in, c, 3, 3}, ++seed);
    const auto up = conv_transpose2d(low, wt, {.stride = 2});
    for (const Precision p : {Precision::fp32, Precision::bf16})
      bench.row("G conv_transpose2d s2", low.shape(), p, bytes_of({low.shape(), up.shape()}),
                [&] { (void)conv_transpose2d(low, wt, {.stride = 2}); });
    const Upfirdn2dOptions blur{.pad_x0 = 1, .pad_x1 = 1, .pad_y0 = 1, .pad_y1 = 1, .gain = 4};
    const auto blurred = upfirdn2d(up, filter, blur);
    bench.row("G blur (upfirdn2d)", up.shape(), Precision::fp32, bytes_of({up.shape(), blurred.shape()}),
              [&] { (void)upfirdn2d(up, filter, blur); });
    const auto rgb = random({b, 3, r / 2, r / 4}, ++seed);
    bench.row("G upsample2d rgb", rgb.shape(), Precision::fp32,
              bytes_of({rgb.shape(), upsample2d(rgb, filter).shape()}), [&] { (void)upsample2d(rgb, filter); });
    // D: the blur and strided conv of a down-sampling layer, downsample2d of the skip path.
    const auto xd = random({16, c, r, r}, ++seed), wd = random({c, c, 3, 3}, ++seed);
    const Upfirdn2dOptions pad2{.pad_x0 = 2, .pad_x1 = 2, .pad_y0 = 2, .pad_y1 = 2};
    const auto pre = upfirdn2d(xd, filter, pad2);
    bench.row("D blur (upfirdn2d)", xd.shape(), Precision::fp32, bytes_of({xd.shape(), pre.shape()}),
              [&] { (void)upfirdn2d(xd, filter, pad2); });
    const auto yd = conv2d(pre, wd, {.stride = 2});
    bench.row("D conv2d 3x3 s2", pre.shape(), Precision::fp32, bytes_of({pre.shape(), yd.shape()}),
              [&] { (void)conv2d(pre, wd, {.stride = 2}); });
    bench.row("D downsample2d", xd.shape(), Precision::fp32, bytes_of({xd.shape(), downsample2d(xd, filter).shape()}),
              [&] { (void)downsample2d(xd, filter); });
  }
  return 0;
}
