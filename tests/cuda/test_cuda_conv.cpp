// The CUDA convolution ops (conv2d, conv_transpose2d, conv2d_weight_grad, upfirdn2d; minibatch_stddev and
// per_patch built from them and the other CUDA ops) against the CPU path on random inputs, with every GPU
// allocation poisoned (NaN) so that unwritten outputs fail; bf16 against fp32; first- and second-order
// gradients of Var<double, Cuda> convolutions against the CPU's. The fused inference ops (conv2d_scaled,
// upfirdn2d_bias_leaky_relu) equal the GPU's unfused ops bit for bit.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "pixsyn/autograd/backward.hpp"
#include "pixsyn/autograd/functions/conv.hpp"
#include "pixsyn/autograd/functions/minibatch_stddev.hpp"
#include "pixsyn/autograd/functions/patches.hpp"
#include "pixsyn/autograd/functions/upfirdn2d.hpp"
#include "pixsyn/backend/cuda/conv.hpp"
#include "pixsyn/backend/cuda/runtime.hpp"
#include "support/cuda.hpp"

namespace {

using namespace pixsyn;
using namespace pixsyn::test;

template <class T>
constexpr double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;

template <class T>
void check_close(const Tensor<T, Cuda>& gpu, const Tensor<T, Cpu>& cpu, const std::string& what,
                 double tol = tolerance<T>) {
  INFO(what);
  const double err = max_relative_error(to_host(gpu), cpu);
  INFO("relative error " << err << " for shape " << cpu.shape());
  CHECK(err <= tol);
}

struct Case {
  Shape x, w;
  std::int64_t stride, padding;
};

// 1×1, 3×3, 4×4 and non-square kernels, strides 1 to 3, paddings 0 to 2, per-sample weights, odd sizes;
// pointwise convolutions (1×1, stride 1, no padding: no im2col) with shared and per-sample weights; shared
// weights' gradient as one GEMM over the batch (batch > 1, O <= K, not pointwise) or one per sample; output
// widths a multiple of 4 (im2col and dy_rows store packs, the outputs of 16 bytes of input) and others.
const std::vector<Case> cases = {
    {{3, 4, 5, 7}, {6, 4, 1, 1}, 1, 0},         {{3, 6, 5, 4}, {2, 6, 1, 1}, 1, 0},
    {{3, 4, 5, 3}, {3, 5, 4, 1, 1}, 1, 0},      {{4, 2, 3, 5}, {5, 2, 1, 1}, 1, 1},
    {{2, 3, 7, 6}, {4, 3, 3, 3}, 1, 1},         {{2, 3, 7, 6}, {4, 3, 3, 3}, 2, 1},
    {{1, 5, 5, 5}, {3, 5, 1, 1}, 1, 0},         {{3, 2, 6, 9}, {2, 2, 1, 1}, 2, 0},
    {{2, 2, 8, 7}, {3, 2, 4, 4}, 2, 1},         {{1, 3, 5, 4}, {2, 3, 3, 2}, 1, 2},
    {{2, 3, 9, 9}, {2, 3, 3, 3}, 3, 0},         {{2, 3, 6, 5}, {2, 4, 3, 3, 3}, 1, 1},
    {{2, 2, 7, 8}, {2, 3, 2, 3, 3}, 2, 1},      {{2, 64, 33, 31}, {48, 64, 3, 3}, 1, 1},
    {{2, 32, 16, 17}, {2, 40, 32, 3, 3}, 1, 1}, {{2, 8, 12, 16}, {8, 8, 3, 3}, 1, 1},
    {{3, 4, 10, 16}, {5, 4, 3, 3}, 2, 1},       {{2, 4, 9, 8}, {2, 5, 4, 3, 3}, 1, 1},
    {{2, 3, 12, 16}, {4, 3, 4, 4}, 2, 1},
};

}  // namespace

TEST_CASE_TEMPLATE("cuda conv: conv2d, conv_transpose2d and the weight gradient match the CPU", T, float, double) {
  Poisoned p;
  std::uint64_t seed = 100;
  for (const auto& c : cases) {
    const std::string name = c.x.to_string() + " * " + c.w.to_string() + " stride " + std::to_string(c.stride) +
                             " padding " + std::to_string(c.padding);
    const auto x = randn<T>(c.x, ++seed), w = randn<T>(c.w, ++seed);
    const Conv2dOptions o{.stride = c.stride, .padding = c.padding};
    const auto y = conv2d(x, w, o);
    check_close(conv2d(to_device(x), to_device(w), o), y, "conv2d " + name);
    const auto dy = randn<T>(y.shape(), ++seed);
    check_close(conv2d_weight_grad(to_device(x), to_device(dy), w.shape(), o), conv2d_weight_grad(x, dy, w.shape(), o),
                "conv2d_weight_grad " + name);
    // The transposed convolution of dy with the same weight (read as (I, O) = the conv's (O, I)).
    for (std::int64_t op = 0; op < c.stride; ++op) {
      const ConvTranspose2dOptions t{.stride = c.stride, .padding = c.padding, .output_padding = op};
      check_close(conv_transpose2d(to_device(dy), to_device(w), t), conv_transpose2d(dy, w, t),
                  "conv_transpose2d " + name + " output_padding " + std::to_string(op));
    }
    // x scaled per (sample, channel, column) as the convolution reads it, and before that through a pending
    // bias + leaky ReLU + clamp: the unfused ops' values exactly.
    const auto s = randn<T>({c.x[0], c.x[1], 1, c.x[3]}, ++seed);
    const auto xd = to_device(x), sd = to_device(s), wd = to_device(w);
    const auto scaled = conv2d_scaled(xd, sd, wd, o);
    CHECK(to_host(scaled).to_vector() == to_host(conv2d(mul(xd, sd), wd, o)).to_vector());
    check_close(scaled, conv2d_scaled(x, s, w, o), "conv2d_scaled " + name);
    const auto bias = randn<T>({c.x[1]}, ++seed);
    const LeakyReluOptions act{.slope = 0.2, .gain = std::sqrt(2.0), .clamp = 1.0};
    const PendingBiasLeakyRelu<T, Cuda> pending{to_device(bias), act};
    const auto activated = conv2d_scaled(xd, sd, wd, o, &pending);
    CHECK(to_host(activated).to_vector() ==
          to_host(conv2d(mul(bias_leaky_relu(xd, pending.bias, 1, act), sd), wd, o)).to_vector());
    const PendingBiasLeakyRelu<T, Cpu> on_cpu{bias, act};
    check_close(activated, conv2d_scaled(x, s, w, o, &on_cpu), "conv2d_scaled with an activation " + name);
  }
  const auto x = to_device(randn<float>({2, 3, 4, 5}, 1)), w = to_device(randn<float>({2, 3, 3, 3}, 2));
  CHECK_THROWS_WITH_AS(conv2d_scaled(x, to_device(randn<float>({2, 3, 4, 5}, 3)), w),
                       doctest::Contains("is not one factor per sample, channel and column"), Error);
}

TEST_CASE("cuda conv: a sample larger than the im2col workspace runs in row chunks") {
  Poisoned p;
  {
    // Pointwise: 64 × 1025 × 1024 > 2^26, read from x in row chunks without im2col.
    const auto x = randn<float>({1, 64, 1025, 1024}, 4), w = randn<float>({8, 64, 1, 1}, 5);
    const auto y = conv2d(x, w);
    check_close(conv2d(to_device(x), to_device(w)), y, "pointwise conv2d");
    const auto dy = randn<float>(y.shape(), 6);
    check_close(conv2d_weight_grad(to_device(x), to_device(dy), w.shape(), {}),
                conv2d_weight_grad(x, dy, w.shape(), {}), "pointwise conv2d_weight_grad", 1e-4);
    check_close(conv_transpose2d(to_device(dy), to_device(w)), conv_transpose2d(dy, w), "pointwise conv_transpose2d");
  }
  // K = 64·9 = 576 and 256 × 512 outputs: 75M im2col elements, more than one launch's 2^26.
  const auto x = randn<float>({1, 64, 256, 512}, 1), w = randn<float>({8, 64, 3, 3}, 2);
  const auto y = conv2d(x, w, {.padding = 1});
  check_close(conv2d(to_device(x), to_device(w), {.padding = 1}), y, "conv2d");
  const auto dy = randn<float>(y.shape(), 3);
  check_close(conv2d_weight_grad(to_device(x), to_device(dy), w.shape(), {.padding = 1}),
              conv2d_weight_grad(x, dy, w.shape(), {.padding = 1}), "conv2d_weight_grad", 1e-4);
  check_close(conv_transpose2d(to_device(dy), to_device(w), {.padding = 1}), conv_transpose2d(dy, w, {.padding = 1}),
              "conv_transpose2d");
}

TEST_CASE("cuda conv: a batch larger than the im2col workspace runs in launches of whole samples") {
  Poisoned p;
  // 40 samples × K = 576 × 48 · 64 outputs > 2^26: two launches, each of whole samples, whose col2im writes
  // its samples' dx without zeroing it first (every pixel has one writer).
  const auto x = randn<float>({40, 64, 48, 64}, 10), w = randn<float>({8, 64, 3, 3}, 11);
  const auto y = conv2d(x, w, {.padding = 1});
  check_close(conv2d(to_device(x), to_device(w), {.padding = 1}), y, "conv2d");
  const auto dy = randn<float>(y.shape(), 12);
  check_close(conv_transpose2d(to_device(dy), to_device(w), {.padding = 1}), conv_transpose2d(dy, w, {.padding = 1}),
              "conv_transpose2d");
}

TEST_CASE("cuda conv: bf16 convolutions follow fp32 within bf16's rounding") {
  Poisoned p;
  for (const auto& c : {Case{{2, 64, 33, 31}, {48, 64, 3, 3}, 1, 1}, Case{{2, 32, 16, 17}, {2, 40, 32, 3, 3}, 2, 1},
                        Case{{2, 64, 9, 7}, {2, 32, 64, 1, 1}, 1, 0}, Case{{2, 32, 16, 16}, {24, 32, 3, 3}, 1, 1},
                        Case{{2, 16, 17, 16}, {8, 16, 3, 3}, 2, 1}}) {
    CAPTURE(c.x);
    CAPTURE(c.w);
    const auto x = randn<float>(c.x, 7), w = randn<float>(c.w, 8);
    const Conv2dOptions o{.stride = c.stride, .padding = c.padding};
    const auto g = detail::conv2d_geometry(c.x, c.w, o);
    const auto y = conv2d(x, w, o);
    const auto xd = to_device(x), wd = to_device(w);
    auto yd = Tensor<float, Cuda>::empty(y.shape());
    backend::cuda::conv2d(g, xd.data(), wd.data(), yd.data(), backend::cuda::Precision::bf16);
    const double err = max_relative_error(to_host(yd), y);
    CHECK(err <= 1e-2);
    CHECK(err > 1e-6);  // it did round
    const auto dy = randn<float>(y.shape(), 9);
    const auto dyd = to_device(dy);
    auto dx = Tensor<float, Cuda>::empty(c.x);
    backend::cuda::conv2d_input_grad(g, dyd.data(), wd.data(), dx.data(), backend::cuda::Precision::bf16);
    const auto expected = detail::conv_adjoint(dy, w, g);
    CHECK(max_relative_error(to_host(dx), expected) <= 1e-2);
    // The ops' convolutions follow a ConvPrecisionScope (bit for bit the bf16 calls), and fp32 after it.
    {
      const backend::cuda::ConvPrecisionScope scope(backend::cuda::Precision::bf16);
      CHECK(max_relative_error(to_host(conv2d(xd, wd, o)), to_host(yd)) == 0);
      // The column scale (and a pending activation) round the fp32 value to bf16, as the unfused ops do.
      const auto s = to_device(randn<float>({c.x[0], c.x[1], 1, c.x[3]}, 10));
      CHECK(to_host(conv2d_scaled(xd, s, wd, o)).to_vector() == to_host(conv2d(mul(xd, s), wd, o)).to_vector());
      const PendingBiasLeakyRelu<float, Cuda> pending{to_device(randn<float>({c.x[1]}, 11)), {.gain = 1.5}};
      CHECK(to_host(conv2d_scaled(xd, s, wd, o, &pending)).to_vector() ==
            to_host(conv2d(mul(bias_leaky_relu(xd, pending.bias, 1, pending.options), s), wd, o)).to_vector());
      if (c.w.rank() == 4 && c.stride == 1)
        CHECK(max_relative_error(to_host(conv_transpose2d(dyd, wd, {.stride = c.stride, .padding = c.padding})),
                                 to_host(dx)) == 0);
    }
    check_close(conv2d(xd, wd, o), y, "fp32 after the scope");
  }
}

TEST_CASE_TEMPLATE("cuda conv: upfirdn2d matches the CPU in every mode", T, float, double) {
  Poisoned p;
  struct Fir {
    Shape x, f;
    Upfirdn2dOptions o;
  };
  const std::vector<Fir> firs = {
      {{2, 3, 4, 5}, {4, 4}, {.up = 2, .pad_x0 = 2, .pad_x1 = 1, .pad_y0 = 2, .pad_y1 = 1, .gain = 4}},
      {{1, 2, 7, 6}, {4, 4}, {.down = 2, .pad_x0 = 1, .pad_x1 = 1, .pad_y0 = 1, .pad_y1 = 1}},
      {{2, 2, 5, 7}, {3, 4}, {.pad_x0 = -1, .pad_x1 = 2, .pad_y0 = 1, .pad_y1 = -2}},
      {{1, 2, 4, 3}, {3, 4}, {.up = 3, .pad_x0 = 1, .pad_y0 = 2, .pad_y1 = 3, .gain = 2, .flip_filter = true}},
      {{2, 1, 6, 7}, {3, 4}, {.up = 2, .down = 3, .pad_x1 = 1, .pad_y0 = 3}},
      {{2, 2, 5, 6}, {5}, {.up = 2, .pad_x0 = 2, .pad_x1 = 2, .pad_y0 = 1, .pad_y1 = 3, .gain = 4}},
      {{1, 3, 9, 8}, {5}, {.down = 2, .pad_x0 = 2, .pad_x1 = 1, .pad_y1 = 2, .flip_filter = true}},
      {{2, 16, 64, 48}, {4, 4}, {.up = 2, .pad_x0 = 2, .pad_x1 = 1, .pad_y0 = 2, .pad_y1 = 1, .gain = 4}},
      // Padding beyond a multiple of up on one side, cropping on the other; odd sizes.
      {{1, 2, 5, 7}, {4, 4}, {.up = 2, .pad_x0 = 5, .pad_x1 = -3, .pad_y0 = -3, .pad_y1 = 5, .gain = 4}},
      {{3, 5, 33, 17}, {4, 4}, {.down = 2, .pad_x0 = 2, .pad_x1 = 1, .pad_y0 = 1, .pad_y1 = 2}},
      {{2, 3, 17, 33}, {4, 4}, {.pad_x0 = 1, .pad_x1 = 1, .pad_y0 = 1, .pad_y1 = 1, .gain = 4}},
      // The tiled kernel (a 4×4 filter, up or down by 2 or neither, outputs at least 16 wide and tall): tiles
      // cut at the edges, odd sizes and paddings of either parity, crops, flipped filters, several planes.
      {{3, 2, 37, 45}, {4, 4}, {.pad_x0 = 2, .pad_x1 = 2, .pad_y0 = 2, .pad_y1 = 2, .flip_filter = true}},
      {{2, 3, 64, 16}, {4, 4}, {.pad_x0 = 2, .pad_x1 = 1, .pad_y0 = 1, .pad_y1 = 2, .gain = 4}},
      {{2, 3, 70, 41}, {4, 4}, {.down = 2, .pad_x0 = 1, .pad_x1 = 1, .pad_y0 = 2, .pad_y1 = 1}},
      {{1, 4, 67, 96}, {4, 4}, {.down = 2, .pad_x0 = -1, .pad_x1 = 3, .pad_y0 = 4, .pad_y1 = -2, .flip_filter = true}},
      {{2, 2, 19, 23}, {4, 4}, {.up = 2, .pad_x0 = 1, .pad_x1 = 2, .pad_y0 = 2, .pad_y1 = 1, .gain = 4}},
      {{1, 3, 20, 17}, {4, 4}, {.up = 2, .pad_x0 = -3, .pad_x1 = 5, .pad_y0 = 5, .pad_y1 = -3, .flip_filter = true}},
      {{3, 2, 8, 33}, {4, 4}, {.up = 2, .pad_x0 = 2, .pad_x1 = 1, .pad_y0 = 2, .pad_y1 = 1, .gain = 4}},
  };
  std::uint64_t seed = 200;
  for (const auto& c : firs) {
    const auto x = randn<T>(c.x, ++seed), f = randn<T>(c.f, ++seed);
    const auto y = upfirdn2d(to_device(x), to_device(f), c.o);
    check_close(y, upfirdn2d(x, f, c.o), "upfirdn2d " + c.x.to_string() + " filter " + c.f.to_string());
    // With the activation applied as the outputs are stored: the unfused ops' values exactly (clamped too).
    const auto bias = to_device(randn<T>({c.x[1]}, ++seed));
    const LeakyReluOptions act{.slope = 0.2, .gain = std::sqrt(2.0), .clamp = 1.5};
    CHECK(to_host(upfirdn2d_bias_leaky_relu(to_device(x), to_device(f), c.o, bias, act)).to_vector() ==
          to_host(bias_leaky_relu(y, bias, 1, act)).to_vector());
  }
  const auto f = setup_filter<T>({1, 3, 3, 1});
  for (const Shape& shape : {Shape{2, 3, 8, 6}, Shape{2, 3, 40, 33}}) {
    const auto x = randn<T>(shape, 300);
    check_close(upsample2d(to_device(x), to_device(f)), upsample2d(x, f), "upsample2d " + shape.to_string());
    check_close(downsample2d(to_device(x), to_device(f)), downsample2d(x, f), "downsample2d " + shape.to_string());
    check_close(filter2d(to_device(x), to_device(f)), filter2d(x, f), "filter2d " + shape.to_string());
  }
}

TEST_CASE_TEMPLATE("cuda conv: minibatch_stddev and per-patch convolutions match the CPU", T, float, double) {
  Poisoned p;
  const auto x = randn<T>({8, 6, 3, 5}, 400);
  check_close(minibatch_stddev(to_device(x), 4, 2), minibatch_stddev(x, 4, 2), "minibatch_stddev");
  const auto img = randn<T>({2, 3, 6, 8}, 401), w = randn<T>({4, 3, 3, 3}, 402);
  const auto wd = to_device(w);
  check_close(per_patch(to_device(img), 2, [&](const auto& q) { return conv2d(q, wd, {.padding = 1}); }),
              per_patch(img, 2, [&](const auto& q) { return conv2d(q, w, {.padding = 1}); }), "per_patch conv2d");
}

TEST_CASE("cuda conv: first and second derivatives of convolutions equal the CPU's") {
  Poisoned p;
  const auto xc = randn<double>({2, 3, 7, 6}, 500), w1c = randn<double>({4, 3, 3, 3}, 501);
  const auto w2c = randn<double>({4, 2, 3, 3}, 502), f = setup_filter<double>({1, 3, 3, 1});
  // An R1-like chain: strided conv, transposed conv, FIR, minibatch std; the input gradient with
  // create_graph, its squared norm differentiated to the inputs and weights.
  auto run = [&](auto x, auto w1, auto w2, const auto& filter) {
    using V = decltype(x);
    const V h = conv2d(x, w1, {.stride = 2, .padding = 1});
    const V u = upfirdn2d(conv_transpose2d(h, w2, {.stride = 2}), filter, {.pad_x0 = 1, .pad_y0 = 1, .gain = 4});
    const V d = sum(square(minibatch_stddev(u, 2)));
    const auto g = autograd::grad(std::vector<V>{d}, std::vector<V>{x, w1, w2}, {.create_graph = true});
    const V r1 = add(sum(square(g[0])), sum(square(g[1])));
    const auto gg = autograd::grad(std::vector<V>{r1}, std::vector<V>{x, w1, w2});
    return std::vector<V>{d, g[0], g[1], g[2], gg[0], gg[1], gg[2]};
  };
  const auto cpu = run(Var<double>::parameter(xc), Var<double>::parameter(w1c), Var<double>::parameter(w2c), f);
  const auto gpu = run(Var<double, Cuda>::parameter(to_device(xc)), Var<double, Cuda>::parameter(to_device(w1c)),
                       Var<double, Cuda>::parameter(to_device(w2c)), to_device(f));
  const char* names[] = {"value", "dx", "dw1", "dw2", "d2 x", "d2 w1", "d2 w2"};
  for (std::size_t k = 0; k < cpu.size(); ++k) check_close(gpu[k].value(), cpu[k].value(), names[k]);
}
