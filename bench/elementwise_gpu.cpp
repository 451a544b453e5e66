// bench_elementwise_gpu: the generic CUDA elementwise, layout and reduction ops (src/cuda/elementwise.cu,
// layout.cu, reduce.cu) one call at a time: the median time of a call (CUDA events on pixsyn's stream, after
// warm-up) and the bytes of its operands and result over that time (each operand at its own size: a broadcast
// one is read from cache after the first time). Rows:
//   ALIS inference at 256² batch 16 (32 = 16 frames · 2 patches): the modulation x (32, C, r, r/2) times the
//   styles (32, C, 1, r/2) and bias + leaky ReLU at each resolution r, the modulation of an x shifted off the
//   16-byte grid (a view), the patches repeated for the batch (broadcast_to), the demodulation's square and
//   sum of a 512 x 512 x 3 x 3 weight, the coordinate channels concatenated (training);
//   training at 256² batch 16: the D's per-channel bias + leaky ReLU (NCHW) and its backward (derivative,
//   product, bias gradient; the leaky ReLU backward in two passes, mask then product, and fused), the G's
//   channels-last bias + leaky ReLU of a CIPS MLP layer and its backward (two passes and fused), a gradient sum, a
//   scaled residual, a permute;
//   CIPS training at its official size (256², batch 16, 512 channels, input 1024): the sums of its backward
//   over (16, 65536, 512) (bias and noise-weight gradients) and over the batch of the first layer's input
//   gradient (16, 65536, 1024), the input repeated for the batch (broadcast_to), and tensors of 2^30 elements
//   and more (32, 65536, 512), beyond 32-bit index math: sums over rows and of everything, a permute.
//
//   bench_elementwise_gpu [repeats]
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <pixsyn/cuda.hpp>
#include <string>

#include "gpu_timing.hpp"

using namespace pixsyn;

namespace {

Tensor<float, Cuda> random(const Shape& shape, std::uint64_t seed) {
  return Tensor<float, Cuda>::randn(shape, Philox{seed});
}

// Random numbers of `shape` starting one element after an aligned allocation, like a view from narrow().
Tensor<float, Cuda> shifted_random(const Shape& shape, std::uint64_t seed) {
  return random({shape.numel() + 1}, seed).narrow(1, shape.numel()).reshape(shape);
}

std::string shapes(std::initializer_list<Shape> list) {
  std::string s;
  for (const Shape& shape : list) {
    if (!s.empty()) s += ' ';
    s += shape.to_string();
  }
  return s;
}

double bytes_of(std::initializer_list<Shape> list) {
  double n = 0;
  for (const Shape& s : list) n += static_cast<double>(s.numel());
  return n * sizeof(float);
}

struct Bench {
  int repeats;

  // One table row: `bytes` moved at least (operands read, result written) by `call`.
  void row(const std::string& op, const std::string& operands, double bytes, const std::function<void()>& call) const {
    const auto t = bench::time_gpu(call, repeats);
    std::printf("| %s | %s | %.3f | %.0f |\n", op.c_str(), operands.c_str(), t.median_ms, bytes / (t.median_ms * 1e6));
  }
};

// The leaky ReLU backward g · leaky_relu'(y): in two passes (the mask written, then read by the product: 5 tensors
// of traffic) as before, and fused (3).
void leaky_relu_backward_rows(const Bench& bench, const std::string& layer, const Tensor<float, Cuda>& g,
                              const Tensor<float, Cuda>& y, const LeakyReluOptions& options) {
  const Shape& s = y.shape();
  bench.row(layer + " leaky_relu backward, two passes (mask, mul)", shapes({g.shape(), s}), bytes_of({s, s, s, s, s}),
            [&] { (void)mul(g, detail::leaky_relu_derivative(y, options)); });
  bench.row(layer + " leaky_relu_backward fused", shapes({g.shape(), s}), bytes_of({s, s, s}),
            [&] { (void)leaky_relu_backward(g, y, options); });
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 20;
  if (repeats < 1) {
    std::fprintf(stderr, "usage: bench_elementwise_gpu [repeats >= 1]\n");
    return 2;
  }
  cudaDeviceProp prop{};
  bench::check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  std::printf("bench_elementwise_gpu: %s, median of %d calls, float32\n", prop.name, repeats);
  std::printf("| op | operands | ms | GB/s |\n|---|---|---:|---:|\n");
  const Bench bench{repeats};
  const LeakyReluOptions lrelu{.slope = 0.2, .gain = std::sqrt(2.0), .clamp = 256};
  std::uint64_t seed = 1;

  // ALIS inference: the modulation and bias + leaky ReLU of each block (widths min(16384 / r, 512)).
  for (const std::int64_t r : {256, 128, 32, 8, 4}) {
    const std::int64_t c = std::min<std::int64_t>(16384 / r, 512);
    const auto x = random({32, c, r, r / 2}, ++seed), styles = random({32, c, 1, r / 2}, ++seed);
    bench.row("ALIS modulation mul", shapes({x.shape(), styles.shape()}),
              bytes_of({x.shape(), styles.shape(), x.shape()}), [&] { (void)mul(x, styles); });
    const auto bias = random({c}, ++seed);
    bench.row("ALIS bias_leaky_relu", shapes({x.shape(), bias.shape()}), bytes_of({x.shape(), bias.shape(), x.shape()}),
              [&] { (void)bias_leaky_relu(x, bias, 1, lrelu); });
  }
  {
    const auto x = random({32, 64, 256, 128}, ++seed), styles = random({32, 64, 1, 128}, ++seed);
    const auto off_grid = shifted_random(x.shape(), ++seed);
    bench.row("ALIS modulation mul, x a view off the 16-byte grid", shapes({x.shape(), styles.shape()}),
              bytes_of({x.shape(), styles.shape(), x.shape()}), [&] { (void)mul(off_grid, styles); });
    const auto one = random({1, 2 * 64 * 256 * 128}, ++seed);
    const Shape batch{16, one.dim(1)};
    bench.row("ALIS patches repeated (broadcast_to)", shapes({one.shape(), batch}), bytes_of({one.shape(), batch}),
              [&] { (void)broadcast_to(one, batch); });
    const auto w = random({512, 512, 3, 3}, ++seed);
    bench.row("ALIS demodulation square", shapes({w.shape()}), bytes_of({w.shape(), w.shape()}),
              [&] { (void)square(w); });
    bench.row("ALIS demodulation sum over I, kh, kw", shapes({w.shape()}), bytes_of({w.shape(), Shape{512}}), [&] {
      (void)sum(w, {1, 2, 3});
    });
    const auto coords = random({32, 16, 256, 128}, ++seed);
    bench.row("ALIS coordinates concat (axis 1)", shapes({x.shape(), coords.shape()}),
              2 * bytes_of({x.shape(), coords.shape()}), [&] {
                (void)concat(std::vector{x, coords}, 1);
              });
  }

  // Training: a D layer (NCHW) and its backward, a CIPS G layer (channels last), gradient arithmetic.
  {
    const auto y = random({16, 128, 128, 128}, ++seed), bias = random({128}, ++seed), g = random(y.shape(), ++seed);
    bench.row("D bias_leaky_relu", shapes({y.shape(), bias.shape()}), bytes_of({y.shape(), bias.shape(), y.shape()}),
              [&] { (void)bias_leaky_relu(y, bias, 1, lrelu); });
    bench.row("D leaky_relu_derivative", shapes({y.shape()}), bytes_of({y.shape(), y.shape()}),
              [&] { (void)detail::leaky_relu_derivative(y, lrelu); });
    bench.row("D gradient mul", shapes({g.shape(), y.shape()}), bytes_of({g.shape(), y.shape(), y.shape()}),
              [&] { (void)mul(g, y); });
    leaky_relu_backward_rows(bench, "D", g, y, lrelu);
    bench.row("D gradient add", shapes({g.shape(), y.shape()}), bytes_of({g.shape(), y.shape(), y.shape()}),
              [&] { (void)add(g, y); });
    bench.row("D residual mul scalar", shapes({y.shape()}), bytes_of({y.shape(), y.shape()}),
              [&] { (void)mul(y, 1 / std::sqrt(2.0f)); });
    bench.row("D bias gradient sum over N, H, W", shapes({g.shape()}), bytes_of({g.shape(), bias.shape()}), [&] {
      (void)sum(g, {0, 2, 3});
    });
    bench.row("D permute NCHW to NHWC", shapes({y.shape()}), bytes_of({y.shape(), y.shape()}), [&] {
      (void)permute(y, {0, 2, 3, 1});
    });
    const auto h = random({16, 16384, 512}, ++seed), b = random({512}, ++seed);
    bench.row("CIPS G bias_leaky_relu channels last", shapes({h.shape(), b.shape()}),
              bytes_of({h.shape(), b.shape(), h.shape()}), [&] { (void)bias_leaky_relu(h, b, -1, lrelu); });
    leaky_relu_backward_rows(bench, "CIPS G", random(h.shape(), ++seed), h, lrelu);
    bench.row("CIPS G bias gradient sum over rows", shapes({h.shape()}), bytes_of({h.shape(), b.shape()}), [&] {
      (void)sum(h, {0, 1});
    });
  }

  // CIPS training at the official size: 2.1 GB activations, and the first layer's 4.3 GB input gradient.
  {
    const auto h = random({16, 65536, 512}, ++seed);
    const Shape bias{512}, noise{16, 65536, 1};
    bench.row("CIPS G bias gradient sum over rows, official size", shapes({h.shape()}), bytes_of({h.shape(), bias}),
              [&] {
                (void)sum(h, {0, 1});
              });
    bench.row("CIPS G noise gradient sum over channels", shapes({h.shape()}), bytes_of({h.shape(), noise}),
              [&] { (void)sum(h, {2}, true); });
    const auto big = random({16, 65536, 1024}, ++seed), input = random({1, 65536, 1024}, ++seed);
    bench.row("CIPS G input gradient sum over the batch", shapes({big.shape()}), bytes_of({big.shape(), input.shape()}),
              [&] { (void)sum(big, {0}, true); });
    bench.row("CIPS G input repeated for the batch (broadcast_to)", shapes({input.shape(), big.shape()}),
              bytes_of({input.shape(), big.shape()}), [&] { (void)broadcast_to(input, big.shape()); });
    const auto wide = reshape(big, Shape{32, 65536, 512});
    bench.row("2^30 elements: sum over rows", shapes({wide.shape()}), bytes_of({wide.shape(), bias}), [&] {
      (void)sum(wide, {0, 1});
    });
    bench.row("2^30 elements: sum of everything", shapes({wide.shape()}), bytes_of({wide.shape()}),
              [&] { (void)sum(wide); });
    bench.row("2^30 elements: permute (0, 2, 1)", shapes({wide.shape()}), bytes_of({wide.shape(), wide.shape()}), [&] {
      (void)permute(wide, {0, 2, 1});
    });
  }
  return 0;
}
