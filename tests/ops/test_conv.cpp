// conv2d, conv_transpose2d and conv2d_weight_grad: against double-precision loops written from their
// definitions, PyTorch's outputs (fixture), first- and second-order gradient checks, determinism, errors.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <pixsyn/autograd/functions/conv.hpp>
#include <pixsyn/autograd/functions/permute.hpp>
#include <pixsyn/autograd/gradcheck.hpp>
#include <pixsyn/io/safetensors.hpp>
#include <pixsyn/ops/conv.hpp>

#include "support/errors.hpp"

using namespace pixsyn;
using pixsyn::test::contains;
using pixsyn::test::error_of;

namespace {

using Vars = std::vector<Var<double>>;

// The weight of sample b: w (O, I, kh, kw) shared or (B, O, I, kh, kw) per sample, at [o, i, ky, kx].
double weight_at(const Tensor<double>& w, std::int64_t b, std::int64_t o, std::int64_t i, std::int64_t ky,
                 std::int64_t kx) {
  return w.rank() == 5 ? w.at({b, o, i, ky, kx}) : w.at({o, i, ky, kx});
}

// y[b, o, r, c] = Σ_{i, ky, kx} w[o, i, ky, kx] x[b, i, r·s + ky - p, c·s + kx - p] (zero outside).
Tensor<double> naive_conv2d(const Tensor<double>& x, const Tensor<double>& w, std::int64_t s, std::int64_t p) {
  const std::int64_t batch = x.dim(0), in = x.dim(1), h = x.dim(2), wd = x.dim(3);
  const std::int64_t out = w.dim(-4), kh = w.dim(-2), kw = w.dim(-1);
  const std::int64_t ho = (h + 2 * p - kh) / s + 1, wo = (wd + 2 * p - kw) / s + 1;
  Tensor<double> y({batch, out, ho, wo});
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t o = 0; o < out; ++o)
      for (std::int64_t r = 0; r < ho; ++r)
        for (std::int64_t c = 0; c < wo; ++c) {
          double acc = 0;
          for (std::int64_t i = 0; i < in; ++i)
            for (std::int64_t ky = 0; ky < kh; ++ky)
              for (std::int64_t kx = 0; kx < kw; ++kx) {
                const std::int64_t iy = r * s + ky - p, ix = c * s + kx - p;
                if (iy >= 0 && iy < h && ix >= 0 && ix < wd)
                  acc += weight_at(w, b, o, i, ky, kx) * x.at({b, i, iy, ix});
              }
          y.at({b, o, r, c}) = acc;
        }
  return y;
}

// The transposed convolution as a scatter: x[b, i, r, c] w[i, o, ky, kx] lands on z[b, o, r·s + ky - p,
// c·s + kx - p]; the output is (H - 1)·s - 2p + kh + op tall.
Tensor<double> naive_conv_transpose2d(const Tensor<double>& x, const Tensor<double>& w, std::int64_t s, std::int64_t p,
                                      std::int64_t op) {
  const std::int64_t batch = x.dim(0), in = x.dim(1), h = x.dim(2), wd = x.dim(3);
  const std::int64_t out = w.dim(-3), kh = w.dim(-2), kw = w.dim(-1);
  const std::int64_t ho = (h - 1) * s - 2 * p + kh + op, wo = (wd - 1) * s - 2 * p + kw + op;
  Tensor<double> z({batch, out, ho, wo});
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t i = 0; i < in; ++i)
      for (std::int64_t r = 0; r < h; ++r)
        for (std::int64_t c = 0; c < wd; ++c)
          for (std::int64_t o = 0; o < out; ++o)
            for (std::int64_t ky = 0; ky < kh; ++ky)
              for (std::int64_t kx = 0; kx < kw; ++kx) {
                const std::int64_t zy = r * s + ky - p, zx = c * s + kx - p;
                if (zy >= 0 && zy < ho && zx >= 0 && zx < wo)
                  z.at({b, o, zy, zx}) += weight_at(w, b, i, o, ky, kx) * x.at({b, i, r, c});
              }
  return z;
}

// dw[(b,) o, i, ky, kx] = Σ_{(b,) r, c} dy[b, o, r, c] x[b, i, r·s + ky - p, c·s + kx - p].
Tensor<double> naive_weight_grad(const Tensor<double>& x, const Tensor<double>& dy, const Shape& weight_shape,
                                 std::int64_t s, std::int64_t p) {
  const bool per_sample = weight_shape.rank() == 5;
  const std::int64_t batch = x.dim(0), in = x.dim(1), h = x.dim(2), wd = x.dim(3);
  const std::int64_t out = dy.dim(1), ho = dy.dim(2), wo = dy.dim(3), kh = weight_shape[-2], kw = weight_shape[-1];
  Tensor<double> dw(weight_shape);
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t o = 0; o < out; ++o)
      for (std::int64_t i = 0; i < in; ++i)
        for (std::int64_t ky = 0; ky < kh; ++ky)
          for (std::int64_t kx = 0; kx < kw; ++kx) {
            double acc = 0;
            for (std::int64_t r = 0; r < ho; ++r)
              for (std::int64_t c = 0; c < wo; ++c) {
                const std::int64_t iy = r * s + ky - p, ix = c * s + kx - p;
                if (iy >= 0 && iy < h && ix >= 0 && ix < wd) acc += dy.at({b, o, r, c}) * x.at({b, i, iy, ix});
              }
            (per_sample ? dw.at({b, o, i, ky, kx}) : dw.at({o, i, ky, kx})) += acc;
          }
  return dw;
}

double max_abs_diff(const Tensor<double>& a, const Tensor<double>& b) {
  REQUIRE(a.shape() == b.shape());
  double m = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a.data()[i] - b.data()[i]));
  return m;
}

void check_gradients(const autograd::GradFunction& f, const std::vector<Tensor<double>>& inputs) {
  const auto result = autograd::gradcheck(f, inputs, {.max_elements = 48});
  INFO(result.message);
  CHECK(result.ok);
}

struct Case {
  Shape x, w;
  std::int64_t stride, padding;
};

// Odd and even sizes, 1×1, 3×3, 4×4 and non-square kernels, strides 1 to 3, paddings 0 to 2, per sample.
const std::vector<Case> cases = {
    {{2, 3, 7, 6}, {4, 3, 3, 3}, 1, 1}, {{2, 3, 7, 6}, {4, 3, 3, 3}, 2, 1},    {{1, 2, 5, 5}, {3, 2, 1, 1}, 1, 0},
    {{3, 2, 6, 9}, {2, 2, 1, 1}, 2, 0}, {{2, 2, 8, 7}, {3, 2, 4, 4}, 2, 1},    {{1, 3, 5, 4}, {2, 3, 3, 2}, 1, 2},
    {{2, 3, 9, 9}, {2, 3, 3, 3}, 3, 0}, {{2, 3, 6, 5}, {2, 4, 3, 3, 3}, 1, 1}, {{2, 2, 7, 8}, {2, 3, 2, 3, 3}, 2, 1},
    {{2, 4, 3, 3}, {5, 4, 3, 3}, 1, 0},
};

}  // namespace

TEST_CASE("conv: conv2d matches a double loop in every mode") {
  Philox gen{1};
  for (const auto& c : cases) {
    CAPTURE(c.x);
    CAPTURE(c.w);
    CAPTURE(c.stride);
    CAPTURE(c.padding);
    const auto x = Tensor<double>::randn(c.x, gen), w = Tensor<double>::randn(c.w, gen);
    const Conv2dOptions o{.stride = c.stride, .padding = c.padding};
    const auto expected = naive_conv2d(x, w, c.stride, c.padding);
    CHECK(max_abs_diff(conv2d(x, w, o), expected) <= 1e-12);
    CHECK(max_abs_diff(conv2d(Var<double>(x), Var<double>(w), o).value(), expected) <= 1e-12);
  }
}

TEST_CASE("conv: conv_transpose2d matches a double loop in every mode") {
  Philox gen{2};
  for (const auto& c : cases) {
    for (std::int64_t op = 0; op < c.stride; ++op) {
      // The case's conv weight (O, I, kh, kw) read as a transposed one: O inputs, I outputs.
      const Shape wt = c.w;
      const Shape x_shape{c.x[0], c.w[-4], c.x[2], c.x[3]};
      CAPTURE(x_shape);
      CAPTURE(wt);
      CAPTURE(c.stride);
      CAPTURE(c.padding);
      CAPTURE(op);
      const std::int64_t out_h = (c.x[2] - 1) * c.stride - 2 * c.padding + c.w[-2] + op;
      const std::int64_t out_w = (c.x[3] - 1) * c.stride - 2 * c.padding + c.w[-1] + op;
      if (out_h < 1 || out_w < 1) continue;
      const auto x = Tensor<double>::randn(x_shape, gen), w = Tensor<double>::randn(wt, gen);
      const ConvTranspose2dOptions o{.stride = c.stride, .padding = c.padding, .output_padding = op};
      const auto expected = naive_conv_transpose2d(x, w, c.stride, c.padding, op);
      CHECK(max_abs_diff(conv_transpose2d(x, w, o), expected) <= 1e-12);
      CHECK(max_abs_diff(conv_transpose2d(Var<double>(x), Var<double>(w), o).value(), expected) <= 1e-12);
    }
  }
}

TEST_CASE("conv: conv2d_weight_grad matches a double loop, shared and per sample") {
  Philox gen{3};
  for (const auto& c : cases) {
    CAPTURE(c.x);
    CAPTURE(c.w);
    const auto x = Tensor<double>::randn(c.x, gen);
    const Conv2dOptions o{.stride = c.stride, .padding = c.padding};
    const auto y_shape = conv2d(x, Tensor<double>(c.w), o).shape();
    const auto dy = Tensor<double>::randn(y_shape, gen);
    CHECK(max_abs_diff(conv2d_weight_grad(x, dy, c.w, o), naive_weight_grad(x, dy, c.w, c.stride, c.padding)) <= 1e-12);
  }
}

TEST_CASE("conv: first and second derivatives in every mode") {
  Philox gen{4};
  for (const auto& c : cases) {
    CAPTURE(c.x);
    CAPTURE(c.w);
    CAPTURE(c.stride);
    CAPTURE(c.padding);
    const Conv2dOptions o{.stride = c.stride, .padding = c.padding};
    const auto x = Tensor<double>::randn(c.x, gen), w = Tensor<double>::randn(c.w, gen);
    // Squared so that the second derivative in x alone is not zero.
    check_gradients([o](const Vars& v) { return square(conv2d(v[0], v[1], o)); }, {x, w});
    const auto dy = Tensor<double>::randn(conv2d(x, w, o).shape(), gen);
    check_gradients([o, shape = c.w](const Vars& v) { return square(conv2d_weight_grad(v[0], v[1], shape, o)); },
                    {x, dy});
  }
}

TEST_CASE("conv: conv_transpose2d first and second derivatives") {
  Philox gen{5};
  struct T2 {
    Shape x, w;
    std::int64_t stride, padding, output_padding;
  };
  for (const auto& c : std::vector<T2>{{{2, 3, 4, 5}, {3, 2, 3, 3}, 2, 0, 0},
                                       {{2, 3, 4, 5}, {3, 2, 3, 3}, 2, 1, 1},
                                       {{1, 2, 3, 3}, {2, 4, 4, 4}, 2, 1, 0},
                                       {{2, 2, 5, 4}, {2, 2, 3, 3}, 1, 1, 0},
                                       {{2, 2, 3, 4}, {2, 2, 3, 3, 3}, 2, 0, 1}}) {
    CAPTURE(c.x);
    CAPTURE(c.w);
    const ConvTranspose2dOptions o{.stride = c.stride, .padding = c.padding, .output_padding = c.output_padding};
    check_gradients([o](const Vars& v) { return square(conv_transpose2d(v[0], v[1], o)); },
                    {Tensor<double>::randn(c.x, gen), Tensor<double>::randn(c.w, gen)});
  }
}

TEST_CASE("conv: R1-style double backward through two convolutions reaches the weights") {
  Philox gen{6};
  // D(x) = Σ lrelu-free conv(conv(x, w1), w2)²; R1 = ‖∂D/∂x‖², differentiated to w1 and w2.
  const auto f = [](const Vars& v) {
    autograd::enable_grad recording;  // gradcheck evaluates f under no_grad for finite differences
    const auto x = v[0];
    const auto h = conv2d(x, v[1], {.stride = 2, .padding = 1});
    const auto d = sum(square(conv2d(h, v[2], {.padding = 1})));
    const auto g = autograd::grad(std::vector{d}, std::vector{x}, {.create_graph = true})[0];
    return sum(square(g));
  };
  const auto result =
      autograd::gradcheck(f,
                          {Tensor<double>::randn({2, 2, 6, 5}, gen), Tensor<double>::randn({3, 2, 3, 3}, gen),
                           Tensor<double>::randn({2, 3, 3, 3}, gen)},
                          {.second_order = false, .max_elements = 32});
  INFO(result.message);
  CHECK(result.ok);
}

TEST_CASE("conv: a sample's result does not depend on its batch (float, large enough to chunk)") {
  Philox gen{7};
  const auto x = Tensor<float>::randn({3, 24, 70, 66}, gen), w = Tensor<float>::randn({19, 24, 3, 3}, gen);
  for (const auto& o : {Conv2dOptions{.padding = 1}, Conv2dOptions{.stride = 2, .padding = 1}}) {
    const auto all = conv2d(x, w, o);
    const auto one = conv2d(x.narrow(1, 1), w, o);
    CHECK(std::memcmp(one.data(), all.narrow(1, 1).data(), sizeof(float) * one.numel()) == 0);
  }
  const auto u = Tensor<float>::randn({3, 19, 35, 33}, gen);
  const auto all = conv_transpose2d(u, w, {.stride = 2});
  const auto one = conv_transpose2d(u.narrow(2, 1), w, {.stride = 2});
  CHECK(std::memcmp(one.data(), all.narrow(2, 1).data(), sizeof(float) * one.numel()) == 0);
}

TEST_CASE("conv: problems of several chunks, in float, follow the double loops") {
  // 256 input channels: im2col chunks of a few output rows, so chunk seams and col2im's two phases are
  // exercised.
  Philox gen{8};
  auto to_float = [](const Tensor<double>& t) {
    auto f = Tensor<float>::empty(t.shape());
    for (std::int64_t i = 0; i < t.numel(); ++i) f.data()[i] = static_cast<float>(t.data()[i]);
    return f;
  };
  // Largest error relative to the largest magnitude of the expected values.
  auto rel = [](const Tensor<float>& a, const Tensor<double>& b) {
    REQUIRE(a.shape() == b.shape());
    double err = 0, scale = 0;
    for (std::int64_t i = 0; i < b.numel(); ++i) {
      err = std::max(err, std::abs(a.data()[i] - b.data()[i]));
      scale = std::max(scale, std::abs(b.data()[i]));
    }
    return err / scale;
  };
  const auto x = Tensor<double>::randn({1, 256, 40, 45}, gen), w = Tensor<double>::randn({13, 256, 3, 3}, gen);
  CHECK(rel(conv2d(to_float(x), to_float(w), {.padding = 1}), naive_conv2d(x, w, 1, 1)) < 1e-5);
  const auto dy = Tensor<double>::randn({1, 13, 40, 45}, gen);
  CHECK(rel(conv2d_weight_grad(to_float(x), to_float(dy), w.shape(), {.padding = 1}),
            naive_weight_grad(x, dy, w.shape(), 1, 1)) < 1e-5);
  const auto u = Tensor<double>::randn({1, 13, 40, 40}, gen);
  CHECK(rel(conv_transpose2d(to_float(u), to_float(w), {.stride = 2}), naive_conv_transpose2d(u, w, 2, 0, 0)) < 1e-5);
}

TEST_CASE("conv: modulate_weight folds styles and demodulation into per-sample weights") {
  Philox gen{9};
  const auto w = Tensor<double>::randn({4, 3, 3, 3}, gen), s = Tensor<double>::randn({2, 3}, gen);
  const auto wb = modulate_weight(w, s);
  REQUIRE(wb.shape() == Shape{2, 4, 3, 3, 3});
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t o = 0; o < 4; ++o) {
      double norm = 0;
      for (std::int64_t i = 0; i < 3; ++i)
        for (std::int64_t k = 0; k < 9; ++k) norm += std::pow(w.at({o, i, k / 3, k % 3}) * s.at({b, i}), 2);
      for (std::int64_t i = 0; i < 3; ++i)
        for (std::int64_t k = 0; k < 9; ++k)
          CHECK(wb.at({b, o, i, k / 3, k % 3}) ==
                doctest::Approx(w.at({o, i, k / 3, k % 3}) * s.at({b, i}) / std::sqrt(norm + 1e-8)).epsilon(1e-12));
    }
  const auto plain = modulate_weight(w, s, {.demodulate = false});
  CHECK(plain.at({1, 2, 1, 0, 2}) == doctest::Approx(w.at({2, 1, 0, 2}) * s.at({1, 1})).epsilon(1e-14));
  // The modulated convolution of sample b is the convolution with its own weights.
  const auto x = Tensor<double>::randn({2, 3, 5, 6}, gen);
  const auto y = conv2d(x, wb, {.padding = 1});
  const auto y1 = conv2d(x.narrow(1, 1), Tensor<double>(wb.narrow(1, 1)).reshape({4, 3, 3, 3}), {.padding = 1});
  CHECK(max_abs_diff(y.narrow(1, 1), y1) <= 1e-12);
  check_gradients([](const Vars& v) { return conv2d(v[0], modulate_weight(v[1], v[2]), {.padding = 1}); }, {x, w, s});
}

TEST_CASE("conv: bad shapes and options are refused with messages that name them") {
  const Tensor<float> x({2, 3, 8, 8}), w({4, 3, 3, 3});
  CHECK(contains(error_of([&] { conv2d(x, Tensor<float>({4, 2, 3, 3})); }), "takes 2 input channels"));
  CHECK(contains(error_of([&] { conv2d(x.reshape({6, 8, 8}), w); }), "x must be (B, C, H, W)"));
  CHECK(contains(error_of([&] { conv2d(x, Tensor<float>({3, 4, 3, 3, 3})); }), "does not have x's batch"));
  CHECK(contains(error_of([&] { conv2d(x, w, {.stride = 0}); }), "stride 0"));
  CHECK(contains(error_of([&] { conv2d(x, w, {.padding = -1}); }), "padding -1"));
  CHECK(contains(error_of([&] { conv2d(x, Tensor<float>({4, 3, 11, 11})); }), "does not fit"));
  CHECK(contains(error_of([&] { conv2d(x, w, {.padding = std::int64_t(1) << 62}); }), "padding"));
  CHECK(contains(error_of([&] { conv_transpose2d(x, Tensor<float>({4, 3, 3, 3})); }), "takes 4 input channels"));
  CHECK(contains(error_of([&] {
                   conv_transpose2d(x, Tensor<float>({3, 2, 3, 3}), {.stride = 2, .output_padding = 2});
                 }),
                 "output_padding 2"));
  CHECK(contains(error_of([&] {
                   conv_transpose2d(x, Tensor<float>({3, 2, 3, 3}), {.padding = 7});
                 }),
                 "leaves no output"));
  CHECK(contains(error_of([&] {
                   conv2d_weight_grad(x, Tensor<float>({2, 4, 7, 7}), w.shape());
                 }),
                 "is not conv2d's output"));
  CHECK(contains(error_of([&] { modulate_weight(w, Tensor<float>({2, 4})); }), "modulate_weight"));
  // The fused inference op: one factor per sample, channel and column of x, or a clear error.
  CHECK(contains(error_of([&] { conv2d_scaled(x, Tensor<float>({2, 3, 8, 8}), w); }), "expected (B, C, 1, W)"));
  CHECK(contains(error_of([&] { conv2d_scaled(x, Tensor<float>({2, 3, 1, 7}), w); }), "conv2d_scaled: scale"));
}

TEST_CASE("conv: PyTorch's conv2d and conv_transpose2d outputs (fixture)") {
  const std::string path = std::string(PIXSYN_SOURCE_DIR) + "/tests/fixtures/ops/conv.safetensors";
  REQUIRE(std::filesystem::exists(path));
  const auto f = io::load_tensors<double>(path);
  int checked = 0;
  for (const auto& entry : f) {  // not a structured binding: CAPTURE is a lambda, which clang 14 cannot give one
    const std::string& key = entry.first;
    const auto& expected = entry.second;
    if (!key.starts_with("out.")) continue;
    // out.<op>.<case>: inputs x.<op>.<case>, w.<op>.<case>; options opt.<op>.<case> = [stride, padding,
    // output_padding].
    const std::string tail = key.substr(4);
    const auto& x = f.at("x." + tail);
    const auto& w = f.at("w." + tail);
    const auto& o = f.at("opt." + tail);
    const auto stride = static_cast<std::int64_t>(o.data()[0]), padding = static_cast<std::int64_t>(o.data()[1]);
    CAPTURE(key);
    if (tail.starts_with("conv2d.")) {
      CHECK(max_abs_diff(conv2d(x, w, {.stride = stride, .padding = padding}), expected) <= 1e-12);
    } else {
      const auto op = static_cast<std::int64_t>(o.data()[2]);
      CHECK(max_abs_diff(conv_transpose2d(x, w, {.stride = stride, .padding = padding, .output_padding = op}),
                         expected) <= 1e-12);
    }
    ++checked;
  }
  CHECK(checked >= 6);
}
