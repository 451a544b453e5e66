// Every non-GEMM CUDA op against its Eigen (CPU) counterpart on random inputs, with every GPU
// allocation poisoned (NaN) so that unwritten outputs fail; Philox on both devices; transfers; and
// first- and second-order gradients of a Var<double, Cuda> expression against the CPU's.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "pixsyn/autograd/backward.hpp"
#include "pixsyn/autograd/functions/activation.hpp"
#include "pixsyn/autograd/functions/arithmetic.hpp"
#include "pixsyn/autograd/functions/biline.hpp"
#include "pixsyn/autograd/functions/layout.hpp"
#include "pixsyn/autograd/functions/math.hpp"
#include "pixsyn/autograd/functions/permute.hpp"
#include "pixsyn/autograd/functions/reduce.hpp"
#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/nn/noise.hpp"
#include "support/cuda.hpp"
#include "support/leaky_relu_backward_inputs.hpp"

namespace {

using namespace pixsyn;
using namespace pixsyn::test;

template <class T>
constexpr double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;

// Element-wise relative error |gpu - cpu| / |cpu| (exact zeros must match); NaN never passes.
template <class T>
void check_close(const Tensor<T, Cuda>& gpu, const Tensor<T, Cpu>& cpu, const std::string& what) {
  INFO(what);
  const auto g = to_host(gpu);
  REQUIRE(g.shape() == cpu.shape());
  double worst = 0;
  std::int64_t worst_at = -1;
  for (std::int64_t i = 0; i < cpu.numel(); ++i) {
    const double c = cpu.data()[i], d = g.data()[i];
    double err = std::abs(d - c) / std::max(std::abs(c), double(std::numeric_limits<T>::min()));
    if (std::isnan(err)) err = std::numeric_limits<double>::infinity();
    if (worst_at < 0 || err > worst) {
      worst = err;
      worst_at = i;
    }
  }
  INFO("worst relative error " << worst << " at element " << worst_at << " of shape " << cpu.shape());
  CHECK(worst <= tolerance<T>);
}

template <class T>
Tensor<T, Cpu> positive(const Shape& s, std::uint64_t seed) {
  return add(abs(randn<T>(s, seed)), T(0.1));
}

// Runs `op` on a CPU tensor and on its GPU copy and compares the results.
template <class T, class Op>
void compare_unary(const Tensor<T, Cpu>& x, Op op, const std::string& what) {
  check_close(op(to_device(x)), op(x), what);
}
template <class T, class Op>
void compare_binary(const Tensor<T, Cpu>& a, const Tensor<T, Cpu>& b, Op op, const std::string& what) {
  check_close(op(to_device(a), to_device(b)), op(a, b),
              what + " " + a.shape().to_string() + " " + b.shape().to_string());
}

}  // namespace

TEST_CASE_TEMPLATE("cuda: Philox numbers equal the CPU's", T, float, double) {
  Poisoned p;
  const Shape s{3, 1001};
  Philox cpu_gen{42, 5}, gpu_gen{42, 5};
  const auto n_cpu = Tensor<T, Cpu>::randn(s, cpu_gen);
  const auto n_gpu = to_host(Tensor<T, Cuda>::randn(s, gpu_gen));
  const auto u_cpu = Tensor<T, Cpu>::rand(s, cpu_gen);
  const auto u_gpu = to_host(Tensor<T, Cuda>::rand(s, gpu_gen));
  CHECK(cpu_gen.offset == gpu_gen.offset);
  // Uniforms are exact on both devices; normals are computed in double, where the GPU's log/sin/cos
  // may differ from glibc's by an ulp: float results round to the same number, double ones nearly.
  CHECK(std::memcmp(u_cpu.data(), u_gpu.data(), sizeof(T) * s.numel()) == 0);
  if constexpr (std::is_same_v<T, float>) {
    CHECK(std::memcmp(n_cpu.data(), n_gpu.data(), sizeof(T) * s.numel()) == 0);
  } else {
    double worst = 0;
    for (std::int64_t i = 0; i < s.numel(); ++i)
      worst = std::max(worst, std::abs(n_cpu.data()[i] - n_gpu.data()[i]) / std::abs(n_cpu.data()[i]));
    CHECK(worst <= 1e-14);
  }
}

TEST_CASE_TEMPLATE("cuda: transfers, fill, clone and empty tensors", T, float, double) {
  Poisoned p;
  const auto x = randn<T>({4, 5, 6}, 1);
  const auto d = to_device(x);
  const auto back = to_host(d);
  CHECK(back.shape() == x.shape());
  CHECK(std::memcmp(back.data(), x.data(), sizeof(T) * x.numel()) == 0);
  const auto c = to_host(d.clone());
  CHECK(std::memcmp(c.data(), x.data(), sizeof(T) * x.numel()) == 0);
  const auto f = to_host(Tensor<T, Cuda>::full({7, 3}, T(2.5)));
  for (auto v : f.to_vector()) CHECK(v == T(2.5));
  const auto z = to_host(Tensor<T, Cuda>({0, 4}));
  CHECK(z.numel() == 0);
  CHECK(Tensor<T, Cuda>::empty({0}).defined());
  const auto view = to_host(d.reshape({20, 6}).narrow(3, 2));
  CHECK(view.at({1, 5}) == x.at({0, 4, 5}));
}

TEST_CASE_TEMPLATE("cuda: unary math matches the CPU", T, float, double) {
  Poisoned p;
  const auto x = mul(randn<T>({3, 7, 129}, 2), T(3));
  const auto pos = positive<T>({5, 300}, 3);
  compare_unary(
      x, [](const auto& t) { return neg(t); }, "neg");
  compare_unary(
      x, [](const auto& t) { return exp(t); }, "exp");
  compare_unary(
      pos, [](const auto& t) { return log(t); }, "log");
  compare_unary(
      pos, [](const auto& t) { return sqrt(t); }, "sqrt");
  compare_unary(
      pos, [](const auto& t) { return rsqrt(t); }, "rsqrt");
  compare_unary(
      x, [](const auto& t) { return square(t); }, "square");
  compare_unary(
      x, [](const auto& t) { return abs(t); }, "abs");
  compare_unary(
      x, [](const auto& t) { return sin(t); }, "sin");
  compare_unary(
      x, [](const auto& t) { return cos(t); }, "cos");
  compare_unary(
      mul(x, T(10)), [](const auto& t) { return sigmoid(t); }, "sigmoid");
  compare_unary(
      x, [](const auto& t) { return detail::sign(t); }, "sign");
  compare_unary(
      mul(x, T(10)), [](const auto& t) { return softplus(t); }, "softplus");
  compare_unary(
      x, [](const auto& t) { return floor(t); }, "floor");
  compare_unary(
      x, [](const auto& t) { return clamp(t, T(-0.5), T(1.25)); }, "clamp");
  compare_unary(
      x, [](const auto& t) { return detail::clamp_mask(t, T(-0.5), T(1.25)); }, "clamp mask");
  compare_unary(
      x, [](const auto& t) { return add(t, T(0.7)); }, "add scalar");
  compare_unary(
      x, [](const auto& t) { return mul(t, T(-1.3)); }, "mul scalar");
  compare_unary(
      x, [](const auto& t) { return div(t, T(3)); }, "div scalar");
  compare_unary(
      x, [](const auto& t) { return T(2) * t - T(1); }, "scalar operators");
}

TEST_CASE_TEMPLATE("cuda: broadcasting binary ops match the CPU", T, float, double) {
  Poisoned p;
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{2, 3, 40}, {2, 3, 40}},           {{2, 3, 4}, {4}}, {{2, 1, 4}, {3, 1}}, {{5}, {}}, {{}, {6, 2}},
      {{2, 1, 3, 1, 2}, {1, 4, 1, 5, 1}}, {{1, 7}, {9, 1}}, {{0, 3}, {3}}};
  std::uint64_t seed = 10;
  for (const auto& [sa, sb] : shapes) {
    const auto a = randn<T>(sa, seed++), b = randn<T>(sb, seed++);
    const auto bpos = add(abs(b), T(0.5));
    compare_binary(
        a, b, [](const auto& u, const auto& v) { return add(u, v); }, "add");
    compare_binary(
        a, b, [](const auto& u, const auto& v) { return sub(u, v); }, "sub");
    compare_binary(
        a, b, [](const auto& u, const auto& v) { return mul(u, v); }, "mul");
    compare_binary(
        a, bpos, [](const auto& u, const auto& v) { return div(u, v); }, "div");
  }
  CHECK_THROWS_AS(add(to_device(randn<T>({2, 3}, 1)), to_device(randn<T>({4}, 2))), pixsyn::Error);
}

TEST_CASE_TEMPLATE("cuda: activations match the CPU", T, float, double) {
  Poisoned p;
  const auto x = mul(randn<T>({4, 6, 33}, 4), T(2));
  const LeakyReluOptions plain{}, cips{.slope = 0.2, .gain = std::sqrt(2.0), .clamp = 0.8};
  for (const auto& o : {plain, cips}) {
    compare_unary(
        x, [&](const auto& t) { return leaky_relu(t, o); }, "leaky_relu");
    const auto y = leaky_relu(x, o);
    compare_unary(
        y, [&](const auto& t) { return detail::leaky_relu_derivative(t, o); }, "leaky_relu_derivative");
    const auto b_last = randn<T>({33}, 5), b_first = randn<T>({6}, 6);
    compare_binary(
        x, b_last, [&](const auto& u, const auto& v) { return bias_leaky_relu(u, v, -1, o); },
        "bias_leaky_relu axis -1");
    compare_binary(
        x, b_first, [&](const auto& u, const auto& v) { return bias_leaky_relu(u, v, 1, o); },
        "bias_leaky_relu axis 1");
  }
  CHECK_THROWS_AS(bias_leaky_relu(to_device(x), to_device(randn<T>({5}, 1)), 1), pixsyn::Error);
  CHECK_THROWS_AS(leaky_relu(to_device(x), {.slope = -1}), pixsyn::Error);
}

TEST_CASE_TEMPLATE("cuda: reductions and broadcast_to match the CPU", T, float, double) {
  Poisoned p;
  const auto x = randn<T>({3, 4, 5, 6}, 7);
  const std::vector<Axes> axes_list = {{}, {0}, {1, 3}, {-1}, {0, 2}, {0, 1, 2}};
  for (const auto& axes : axes_list) {
    for (bool keepdim : {false, true}) {
      compare_unary(
          x, [&](const auto& t) { return sum(t, axes, keepdim); }, "sum");
      compare_unary(
          x, [&](const auto& t) { return mean(t, axes, keepdim); }, "mean");
    }
  }
  // Large reductions take the one-block-per-output path.
  const auto wide = randn<T>({3, 50000}, 8);
  compare_unary(
      wide, [](const auto& t) { return sum(t, {1}); }, "sum of long rows");
  compare_unary(
      wide, [](const auto& t) { return mean(t); }, "mean of everything");
  compare_unary(
      randn<T>({20000, 3}, 9), [](const auto& t) { return sum(t, {0}); }, "sum of long columns");
  compare_unary(
      x,
      [](const auto& t) {
        return sum_to(t, Shape{4, 1, 6});
      },
      "sum_to");
  compare_unary(
      x, [](const auto& t) { return sum_to(t, Shape{1}); }, "sum_to scalar-like");
  compare_unary(
      randn<T>({4, 1, 6}, 10),
      [](const auto& t) {
        return broadcast_to(t, Shape{2, 4, 5, 6});
      },
      "broadcast_to");
  CHECK_THROWS_AS(sum_to(to_device(x), Shape{2, 6}), pixsyn::Error);
  CHECK_THROWS_AS(broadcast_to(to_device(x), Shape{3, 4, 5, 7}), pixsyn::Error);
  CHECK_THROWS_AS(sum(to_device(x), {0, 0}), pixsyn::Error);
}

// Forces the 64-bit index math of the strided kernels (the path of tensors beyond 2^31 elements) in scope.
struct WideIndices {
  explicit WideIndices(bool on) { backend::cuda::force_wide_indices(on); }
  ~WideIndices() { backend::cuda::force_wide_indices(false); }
};

// Each layout the strided kernels pick (reduce.cu, elementwise.cu), with 32-bit and with 64-bit index math.
TEST_CASE_TEMPLATE("cuda: the reduction and strided kernels' layouts match the CPU with either index math", T, float,
                   double) {
  Poisoned p;
  for (const bool wide : {false, true}) {
    INFO((wide ? "64-bit" : "32-bit") << " index math");
    const WideIndices w(wide);
    const auto sum_over = [](const Axes& axes) { return [axes](const auto& t) { return sum(t, axes); }; };
    // Few outputs, many inputs: one block per output cut into parts, summed by a second pass.
    const auto images = randn<T>({4, 3, 64, 65}, 20);
    compare_unary(images, sum_over({1, 2, 3}), "per-sample sums (parts)");
    compare_unary(
        images, [](const auto& t) { return mean(t); }, "mean of everything (parts)");
    // A per-channel bias gradient of NCHW: the kept axis between reduced ones.
    compare_unary(randn<T>({8, 5, 33, 40}, 21), sum_over({0, 2, 3}), "sum over N, H, W");
    compare_unary(randn<T>({6, 7, 8, 9}, 22), sum_over({0, 2}), "interleaved kept and reduced axes");
    // Outputs contiguous in memory: tiles of 32 outputs, with and without parts.
    compare_unary(randn<T>({3000, 37}, 23), sum_over({0}), "columns (parts)");
    compare_unary(randn<T>({40, 300}, 24), sum_over({0}), "columns (one part)");
    compare_unary(randn<T>({50, 6, 70}, 25), sum_over({0, 1}), "columns over two axes");
    // Many outputs, few inputs: one thread per output.
    compare_unary(randn<T>({5000, 7}, 26), sum_over({1}), "short rows");
    compare_unary(randn<T>({4100, 100}, 27), sum_over({1}), "many rows of 100");
    compare_unary(randn<T>({300, 20, 9}, 28), sum_over({0, 2}), "few strided inputs per output");
    // Many outputs of a few hundred inputs: one warp per output, over contiguous and strided inputs.
    // Positive inputs: a warp's tree adds in another order than the CPU, and a relative bound needs no cancellation.
    compare_unary(positive<T>({8200, 300}, 50), sum_over({1}), "many rows of 300");
    compare_unary(positive<T>({20, 8200, 30}, 51), sum_over({0, 2}), "many outputs of 600 strided inputs");
    // Empty: a sum over an axis of extent 0 (zeros), and no outputs at all.
    const auto empty = randn<T>({3, 0, 4}, 29);
    compare_unary(empty, sum_over({1}), "sum over an empty axis");
    compare_unary(empty, sum_over({0}), "no outputs");

    // Broadcasts that collapse to few axes, to equal contiguous operands, or not at all.
    const std::vector<std::pair<Shape, Shape>> shapes = {{{4, 6, 9, 10}, {1, 6, 1, 1}},
                                                         {{4, 6, 9, 10}, {6, 1, 1}},
                                                         {{30, 17}, {17}},
                                                         {{30, 17}, {30, 1}},
                                                         {{1, 17}, {30, 1}},
                                                         {{3, 1, 5}, {1, 1, 5}},
                                                         {{7, 8}, {}},
                                                         {{2, 1, 3, 1, 2}, {1, 4, 1, 5, 1}},
                                                         {{0, 6, 2}, {6, 1}}};
    std::uint64_t seed = 30;
    for (const auto& [sa, sb] : shapes) {
      const auto a = randn<T>(sa, seed), b = randn<T>(sb, seed + 1);
      seed += 2;
      compare_binary(
          a, b, [](const auto& u, const auto& v) { return mul(u, v); }, "mul");
      compare_binary(
          b, a, [](const auto& u, const auto& v) { return sub(u, v); }, "sub");
    }
    // Strided copies: permutes and broadcasts, including ones that only move or add axes of extent 1 (a memcpy).
    const auto x = randn<T>({2, 3, 4, 5}, 40);
    compare_unary(
        x,
        [](const auto& t) {
          return permute(t, {0, 2, 3, 1});
        },
        "permute NCHW to NHWC");
    compare_unary(
        randn<T>({3, 1, 4}, 41),
        [](const auto& t) {
          return permute(t, {1, 0, 2});
        },
        "permute of an extent-1 axis");
    compare_unary(
        randn<T>({4, 6}, 42),
        [](const auto& t) {
          return broadcast_to(t, Shape{1, 4, 6});
        },
        "broadcast_to a new axis of extent 1");
    compare_unary(
        randn<T>({1, 6, 1, 1}, 43),
        [](const auto& t) {
          return broadcast_to(t, Shape{4, 6, 9, 10});
        },
        "broadcast_to per channel");
    compare_unary(
        randn<T>({0, 5}, 44),
        [](const auto& t) {
          return permute(t, {1, 0});
        },
        "permute of an empty tensor");
    // bias_leaky_relu with one channel and with no inner axis.
    const LeakyReluOptions cips{.slope = 0.2, .gain = std::sqrt(2.0), .clamp = 0.8};
    compare_binary(
        randn<T>({4, 1, 33}, 45), randn<T>({1}, 46),
        [&](const auto& u, const auto& v) { return bias_leaky_relu(u, v, 1, cips); }, "bias_leaky_relu one channel");
    compare_binary(
        randn<T>({4, 1, 33}, 47), randn<T>({33}, 48),
        [&](const auto& u, const auto& v) { return bias_leaky_relu(u, v, -1, cips); }, "bias_leaky_relu no inner axis");
  }
}

TEST_CASE_TEMPLATE("cuda: permute, transpose and layout ops match the CPU", T, float, double) {
  Poisoned p;
  const auto x = randn<T>({3, 4, 5, 6}, 11);
  const std::vector<std::vector<int>> perms = {{0, 1, 3, 2}, {3, 2, 1, 0}, {1, 0, 2, 3}, {2, 0, 3, 1}};
  for (const auto& perm : perms)
    compare_unary(
        x, [&](const auto& t) { return permute(t, perm); }, "permute");
  compare_unary(
      randn<T>({2, 3, 4, 5, 6}, 12),
      [](const auto& t) {
        return permute(t, {4, 0, 3, 1, 2});
      },
      "permute rank 5");
  compare_unary(
      x, [](const auto& t) { return transpose(t); }, "transpose");
  compare_unary(
      x, [](const auto& t) { return transpose(t, 0, 2); }, "transpose 0 2");

  const auto y = randn<T>({3, 2, 5, 6}, 13), z = randn<T>({3, 7, 5, 6}, 14);
  check_close(concat(std::vector{to_device(x), to_device(y), to_device(z)}, 1), concat(std::vector{x, y, z}, 1),
              "concat axis 1");
  check_close(concat(std::vector{to_device(x), to_device(x)}, -1), concat(std::vector{x, x}, -1), "concat axis -1");
  for (int axis = 0; axis < 4; ++axis) {
    compare_unary(
        x, [&](const auto& t) { return slice(t, axis, 1, 3); }, "slice");
    const auto piece = slice(x, axis, 1, 3);
    compare_unary(
        piece, [&](const auto& t) { return pad_slice(t, axis, 1, x.dim(axis) + 2); }, "pad_slice");
  }
  const auto index = Tensor<std::int64_t, Cpu>::from({4, 0, 4, 2, 1, 4, 3}, {7});
  compare_unary(
      x, [&](const auto& t) { return index_select(t, 2, index); }, "index_select");
  compare_unary(
      x,
      [&](const auto& t) {
        return index_select(t, 0, Tensor<std::int64_t, Cpu>::from({2, 2}, {2}));
      },
      "index_select axis 0");
  const auto g = randn<T>({3, 4, 7, 6}, 15);
  compare_unary(
      g, [&](const auto& t) { return index_add(t, 2, index, 5); }, "index_add");
  compare_unary(
      g,
      [&](const auto& t) {
        return index_add(t, -1, Tensor<std::int64_t, Cpu>::from({0, 0, 0, 1, 1, 0}, {6}), 2);
      },
      "index_add last axis");
  CHECK_THROWS_AS(index_select(to_device(x), 2, Tensor<std::int64_t, Cpu>::from({5}, {1})), pixsyn::Error);
  CHECK_THROWS_AS(slice(to_device(x), 1, 2, 9), pixsyn::Error);
  CHECK_THROWS_AS(concat(std::vector{to_device(x), to_device(randn<T>({3, 4, 5, 7}, 1))}, 1), pixsyn::Error);
}

// Bit-for-bit equality with the CPU: the elementwise kernels compute every element with the CPU's arithmetic,
// whichever layout (16-byte vectors or single elements) runs it. NaN (an unwritten, poisoned output) never passes.
template <class T>
void check_identical(const Tensor<T, Cuda>& gpu, const Tensor<T, Cpu>& cpu, const std::string& what) {
  INFO(what << " " << cpu.shape());
  const auto g = to_host(gpu);
  REQUIRE(g.shape() == cpu.shape());
  std::int64_t differing = 0, first = -1;
  for (std::int64_t i = 0; i < cpu.numel(); ++i)
    if (std::memcmp(g.data() + i, cpu.data() + i, sizeof(T)) != 0 && differing++ == 0) first = i;
  INFO(differing << " elements differ, the first at " << first);
  CHECK(differing == 0);
}

// A GPU copy of x that starts `shift` elements after a fresh (16-byte aligned) allocation: a view like those
// narrow() makes, on which the vector loads must not run unaligned.
template <class T>
Tensor<T, Cuda> shifted_copy(const Tensor<T, Cpu>& x, std::int64_t shift) {
  auto base = Tensor<T, Cpu>::zeros({x.numel() + shift});
  std::copy(x.data(), x.data() + x.numel(), base.data() + shift);
  return to_device(base).narrow(shift, x.numel()).reshape(x.shape());
}

// Each layout of the vector paths (elementwise.cu, layout.cu) against the CPU: contiguous ranges of odd lengths
// (tails after the whole vectors); every broadcast along the innermost or an outer axis, with extents in whole
// vectors and not; operands shifted off the 16-byte grid (alike, and unlike); transposing permutes; with 32- and
// 64-bit index math.
TEST_CASE_TEMPLATE("cuda: the vectorised elementwise and layout paths equal the CPU bit for bit", T, float, double) {
  Poisoned p;
  const LeakyReluOptions alis{.slope = 0.2, .gain = std::sqrt(2.0), .clamp = 0.8};
  const std::vector<std::pair<std::int64_t, std::int64_t>> shifts = {{0, 0}, {1, 0}, {0, 3}, {2, 2}, {1, 3}};
  std::uint64_t seed = 100;
  for (const bool wide : {false, true}) {
    INFO((wide ? "64-bit" : "32-bit") << " index math");
    const WideIndices w(wide);
    for (const std::int64_t n : {1, 3, 4, 7, 8, 33, 1021, 4100}) {
      const auto a = randn<T>({n}, seed++), b = add(abs(randn<T>({n}, seed++)), T(0.5));
      for (const auto& [sa, sb] : shifts) {
        INFO("contiguous, shifts " << sa << " " << sb);
        const auto da = shifted_copy(a, sa), db = shifted_copy(b, sb);
        check_identical(add(da, db), add(a, b), "add");
        check_identical(div(da, db), div(a, b), "div");
        check_identical(mul(da, T(-1.3)), mul(a, T(-1.3)), "mul scalar");
        check_identical(leaky_relu(da, alis), leaky_relu(a, alis), "leaky_relu");
        check_close(exp(da), exp(a), "exp");
      }
    }
    // (a, b): ALIS's modulation (B, C, H, W) x (B, C, 1, W); per-channel scales; channels-last biases; per-row
    // scales; scalars; an operand broadcast along an outer axis; both operands broadcast.
    const std::vector<std::pair<Shape, Shape>> patterns = {{{6, 5, 7, 12}, {6, 5, 1, 12}},
                                                           {{6, 5, 7, 10}, {6, 5, 1, 10}},
                                                           {{4, 3, 5, 9}, {4, 3, 1, 9}},
                                                           {{4, 6, 5, 8}, {1, 6, 1, 1}},
                                                           {{4, 6, 3, 3}, {6, 1, 1}},
                                                           {{50, 12}, {12}},
                                                           {{50, 13}, {13}},
                                                           {{50, 12}, {50, 1}},
                                                           {{1001}, {}},
                                                           {{1000}, {1}},
                                                           {{9, 64}, {1, 64}},
                                                           {{3, 8, 16}, {3, 1, 16}},
                                                           {{9, 1}, {1, 16}},
                                                           {{5, 1, 6}, {1, 7, 1}}};
    for (const auto& [sa, sb] : patterns) {
      const auto a = randn<T>(sa, seed++), b = add(abs(randn<T>(sb, seed++)), T(0.5));
      const Shape full = mul(a, b).shape();
      for (const auto& [ha, hb] : shifts) {
        INFO("broadcast " << sa << " " << sb << ", shifts " << ha << " " << hb);
        const auto da = shifted_copy(a, ha), db = shifted_copy(b, hb);
        check_identical(mul(da, db), mul(a, b), "mul");
        check_identical(sub(db, da), sub(b, a), "sub");
        check_identical(div(da, db), div(a, b), "div");
        check_identical(broadcast_to(da, full), broadcast_to(a, full), "broadcast_to a");
        check_identical(broadcast_to(db, full), broadcast_to(b, full), "broadcast_to b");
      }
    }
    // Permutes: transposing ones (tiles through shared memory where both extents are >= 16; partial tiles, planes
    // over several axes) and others.
    const std::vector<std::pair<Shape, std::vector<int>>> permutes = {
        {{2, 24, 9, 7}, {0, 2, 3, 1}},  {{50, 70}, {1, 0}},
        {{3, 40, 17}, {0, 2, 1}},       {{3, 20, 4, 18}, {0, 2, 3, 1}},
        {{2, 3, 20, 17}, {1, 0, 3, 2}}, {{4, 3, 20, 18}, {2, 0, 3, 1}},
        {{2, 5, 40, 33}, {0, 2, 3, 1}}, {{6, 4, 8}, {1, 0, 2}}};
    for (const auto& [shape, perm] : permutes) {
      const auto x = randn<T>(shape, seed++);
      INFO("permute of " << shape);
      check_identical(permute(shifted_copy(x, 1), perm), permute(x, perm), "permute");
      check_identical(permute(to_device(x), perm), permute(x, perm), "permute");
    }
    // bias_leaky_relu: NCHW with planes in whole vectors and not, channels last with and without.
    const std::vector<std::pair<Shape, int>> biased = {{{4, 6, 5, 8}, 1}, {{4, 6, 3, 3}, 1}, {{50, 12}, -1},
                                                       {{50, 13}, -1},    {{3, 8, 12}, 2},   {{2, 3, 4}, 0}};
    for (const auto& [shape, axis] : biased) {
      const auto x = mul(randn<T>(shape, seed++), T(2));
      const auto bias = randn<T>({shape[axis < 0 ? shape.rank() + axis : axis]}, seed++);
      for (const auto& [hx, hb] : shifts) {
        INFO("bias_leaky_relu " << shape << " axis " << axis << ", shifts " << hx << " " << hb);
        check_identical(bias_leaky_relu(shifted_copy(x, hx), shifted_copy(bias, hb), axis, alis),
                        bias_leaky_relu(x, bias, axis, alis), "bias_leaky_relu");
      }
    }
    // Row blocks (concat, slice, pad_slice) with rows in whole vectors and not, from shifted views.
    for (const std::int64_t inner : {8, 5}) {
      const auto x = randn<T>({3, 4, inner}, seed++), y = randn<T>({3, 2, inner}, seed++);
      for (const auto& [hx, hy] : shifts) {
        INFO("rows of " << inner << ", shifts " << hx << " " << hy);
        const auto dx = shifted_copy(x, hx), dy = shifted_copy(y, hy);
        check_identical(concat(std::vector{dx, dy}, 1), concat(std::vector{x, y}, 1), "concat");
        check_identical(slice(dx, 1, 1, 2), slice(x, 1, 1, 2), "slice");
        check_identical(pad_slice(dy, 1, 1, 5), pad_slice(y, 1, 1, 5), "pad_slice");
      }
    }
  }
}

// Lowers the bound of 32-bit index math in scope, so that small tensors are cut into the pieces (and sums
// into the parts) that tensors of 2^30 elements and more take.
struct NarrowLimit {
  explicit NarrowLimit(std::int64_t elements) { backend::cuda::limit_narrow_indices(elements); }
  ~NarrowLimit() { backend::cuda::limit_narrow_indices(0); }
};

// Huge index spaces in 32-bit pieces (strided_index.cuh, reduce.cu), emulated by lowering the bound: pieces
// of ranges of an axis with odd tails, pieces of one index of the outer axes, and more pieces than are worth
// launching (64-bit index math then); sums whose parts start within a row of the outermost reduced axis or
// at its rows, over outputs in pieces. Elementwise results equal the CPU bit for bit; sums equal it to
// rounding, and equal the uncut GPU sum bit for bit where the cut leaves their parts alone.
TEST_CASE_TEMPLATE("cuda: index spaces beyond 32 bits, cut into pieces, match the CPU", T, float, double) {
  Poisoned p;
  const LeakyReluOptions cips{.slope = 0.2, .gain = std::sqrt(2.0), .clamp = 0.8};
  const auto sum_over = [](const Axes& axes) { return [axes](const auto& t) { return sum(t, axes); }; };
  std::uint64_t seed = 300;
  for (const std::int64_t limit : {30000, 10000, 4096, 999, 3}) {
    INFO("32-bit index math below " << limit);
    // Elementwise: a shared x repeated for a batch (contiguous pieces, or pieces of whole samples), a permute
    // NCHW to NHWC (transposing pieces), broadcasts in whole vectors and not, a channels-last bias.
    const auto shared = randn<T>({1, 300, 40}, seed++);
    const auto x = randn<T>({4, 24, 20, 30}, seed++), rows = randn<T>({16, 300, 40}, seed++);
    const auto a = randn<T>({8, 50, 64}, seed++), a_odd = randn<T>({8, 50, 63}, seed++);
    const auto scale = randn<T>({1, 50, 1}, seed++), bias = randn<T>({40}, seed++);
    const auto d_shared = to_device(shared), d_x = to_device(x), d_rows = to_device(rows), d_a = to_device(a),
               d_a_odd = to_device(a_odd), d_scale = to_device(scale), d_bias = to_device(bias);
    const NarrowLimit cut(limit);
    check_identical(broadcast_to(d_shared, Shape{16, 300, 40}), broadcast_to(shared, Shape{16, 300, 40}),
                    "broadcast_to a batch");
    check_identical(permute(d_x, {0, 2, 3, 1}), permute(x, {0, 2, 3, 1}), "permute NCHW to NHWC");
    check_identical(mul(d_a, d_scale), mul(a, scale), "mul by a per-row scale");
    check_identical(sub(d_scale, d_a_odd), sub(scale, a_odd), "sub from a per-row scale, odd rows");
    check_identical(bias_leaky_relu(d_rows, d_bias, -1, cips), bias_leaky_relu(rows, bias, -1, cips),
                    "bias_leaky_relu channels last");
    // Sums: per-sample sums and the mean of everything (parts of a contiguous range, one output piece).
    const auto images = randn<T>({4, 3, 64, 65}, seed++);
    compare_unary(images, sum_over({1, 2, 3}), "per-sample sums");
    compare_unary(
        images, [](const auto& t) { return mean(t); }, "mean of everything");
    // Columns (a CIPS bias gradient): output pieces of 8 with a tail of 5 below 999.
    compare_unary(randn<T>({3000, 37}, seed++), sum_over({0}), "columns");
    // A batch sum of a shared input's gradient: 16 inputs 3000 apart, too far for one thread's walk: below
    // 30000 two parts of the columns; below less, parts too short to pay (64-bit index math).
    compare_unary(randn<T>({16, 3000}, seed++), sum_over({0}), "sum over a batch");
    // Per-channel sums of NCHW: parts of whole rows of the outermost reduced axis, one output per piece.
    compare_unary(randn<T>({8, 5, 33, 40}, seed++), sum_over({0, 2, 3}), "sum over N, H, W");
    // Parts that start within a row of the outermost reduced axis and cross into the next (chunks of 117
    // inputs in rows of 7 below 30000).
    compare_unary(randn<T>({50, 3, 7, 40}, seed++), sum_over({0, 2}), "interleaved kept and reduced axes");
    // One thread per output: output pieces of 143 with a tail below 999.
    compare_unary(randn<T>({5000, 7}, seed++), sum_over({1}), "short rows");
    compare_unary(randn<T>({4100, 100}, seed++), sum_over({1}), "many rows of 100");
    // One warp per output: output pieces of 100 below 30000, of 34 with a tail below 10000.
    compare_unary(positive<T>({9000, 300}, seed++), sum_over({1}), "many rows of 300");
  }
  // Cutting the outputs into pieces leaves every output's sum as it was: bit for bit.
  // Columns of 20000 rows: 157 parts of 128 rows, whose walks fit below 5000 (136 rows of 37), over output
  // pieces of 30 and 7 (below 5000 / 157 partial sums each); short rows: one thread per output, pieces of 143.
  const auto d_columns = to_device(randn<T>({20000, 37}, seed++)),
             d_short_rows = to_device(randn<T>({5000, 7}, seed++));
  const auto whole_columns = to_host(sum(d_columns, {0})), whole_rows = to_host(sum(d_short_rows, {1}));
  {
    const NarrowLimit cut(5000);
    check_identical(sum(d_columns, {0}), whole_columns, "columns in output pieces");
  }
  const NarrowLimit cut(999);
  check_identical(sum(d_short_rows, {1}), whole_rows, "short rows in output pieces");
}

// The fused leaky ReLU backward against the CPU and against the GPU's two passes (the mask, then the product), bit for
// bit: every edge case of support/leaky_relu_backward_inputs.hpp; lengths with and without a tail after the whole
// vectors; large tensors (many blocks, grid-stride loops), one with a tail; operands off the 16-byte grid (the
// element-wise path).
TEST_CASE_TEMPLATE("cuda: leaky_relu_backward equals the CPU and the two-pass product bit for bit", T, float, double) {
  Poisoned p;
  const std::vector<LeakyReluOptions> options = {{},
                                                 {.slope = 0.2, .gain = std::sqrt(2.0), .clamp = 0.8},
                                                 {.slope = 0.2, .gain = std::sqrt(2.0), .clamp = 256},
                                                 {.slope = 0, .gain = 1, .clamp = 0}};
  const std::vector<std::pair<std::int64_t, std::int64_t>> shifts = {{0, 0}, {1, 0}, {0, 3}, {2, 2}};
  std::uint64_t seed = 200;
  for (const auto& o : options) {
    for (const Shape& shape :
         {Shape{3}, Shape{60}, Shape{61}, Shape{3, 5, 33}, Shape{3, 1001, 257}, Shape{16, 64, 32, 32}}) {
      INFO("slope " << o.slope << ", gain " << o.gain << ", clamp " << o.clamp << ", shape " << shape);
      const auto [g, y] = test::leaky_relu_backward_inputs<T>(shape, o, seed++);
      const auto cpu = leaky_relu_backward(g, y, o);
      for (const auto& [hg, hy] : shifts) {
        INFO("shifts " << hg << " " << hy);
        check_identical(leaky_relu_backward(shifted_copy(g, hg), shifted_copy(y, hy), o), cpu, "leaky_relu_backward");
      }
      const auto dg = to_device(g), dy = to_device(y);
      check_identical(leaky_relu_backward(dg, dy, o), to_host(mul(dg, detail::leaky_relu_derivative(dy, o))),
                      "leaky_relu_backward against the two passes");
    }
  }
  const auto y = to_device(randn<T>({2, 3}, 1));
  CHECK_THROWS_AS(leaky_relu_backward(to_device(randn<T>({3, 2}, 2)), y), pixsyn::Error);
  CHECK_THROWS_AS(leaky_relu_backward(y, y, {.gain = 0}), pixsyn::Error);
}

TEST_CASE_TEMPLATE("cuda: biline_compose matches the CPU, and so do its derivatives", T, float, double) {
  Poisoned p;
  // (B, H, D, K) rows and (B, W, D, K) columns; a grid of every pair and a diagonal with repeats.
  const auto u = randn<T>({2, 3, 5, 7}, 30), v = randn<T>({2, 4, 5, 7}, 31);
  std::vector<std::int64_t> gr, gc;
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t j = 0; j < 4; ++j) gr.push_back(i), gc.push_back(j);
  const auto rows = Tensor<std::int64_t, Cpu>::from(gr, {12}), cols = Tensor<std::int64_t, Cpu>::from(gc, {12});
  const auto dr = Tensor<std::int64_t, Cpu>::from({2, 0, 1, 1, 2}, {5}),
             dc = Tensor<std::int64_t, Cpu>::from({3, 0, 1, 1, 0}, {5});
  check_close(biline_compose(to_device(u), to_device(v), rows, cols), biline_compose(u, v, rows, cols), "grid");
  check_close(biline_compose(to_device(u), to_device(v), dr, dc), biline_compose(u, v, dr, dc), "diagonal");
  // Thickness 1 (a plain outer product).
  const auto u1 = slice(u, 2, 0, 1), v1 = slice(v, 2, 0, 1);
  check_close(biline_compose(to_device(u1), to_device(v1), rows, cols), biline_compose(u1, v1, rows, cols),
              "thickness 1");
  CHECK_THROWS_AS(biline_compose(to_device(u), to_device(v), Tensor<std::int64_t, Cpu>::from({3}, {1}),
                                 Tensor<std::int64_t, Cpu>::from({0}, {1})),
                  pixsyn::Error);
  if constexpr (std::is_same_v<T, double>) {
    // First and second derivatives of Σ sin(compose(u, v)) on Var (the composite of gathers, a product
    // and a sum) on both devices.
    auto run = [&](auto a, auto b) {
      using V = decltype(a);
      const V y = sum(sin(biline_compose(a, b, dr, dc)));
      const auto g = autograd::grad(std::vector<V>{y}, std::vector<V>{a, b}, {.create_graph = true});
      const auto gg = autograd::grad(std::vector<V>{add(sum(square(g[0])), sum(square(g[1])))}, std::vector<V>{a, b});
      return std::vector<V>{y, g[0], g[1], gg[0], gg[1]};
    };
    const auto cpu = run(Var<double>::parameter(u), Var<double>::parameter(v));
    const auto gpu = run(Var<double, Cuda>::parameter(to_device(u)), Var<double, Cuda>::parameter(to_device(v)));
    const char* names[] = {"value", "du", "dv", "d2 u", "d2 v"};
    for (std::size_t k = 0; k < cpu.size(); ++k) check_close(gpu[k].value(), cpu[k].value(), names[k]);
  }
}

namespace {

// A small expression over most ops, generic over the value type (Var on either device).
template <class V>
V expression(const V& x, const V& w, const V& b, const Tensor<std::int64_t, Cpu>& index) {
  const V h = bias_leaky_relu(add(mul(x, w), b), b, -1, {.slope = 0.2, .gain = std::sqrt(2.0)});
  const V p = index_select(permute(h, {2, 0, 1}), 1, index);  // (4, 5, 3)
  const V e = exp(mul(p, 0.3));
  const V d = div(sum(square(w), {1}), add(abs(slice(b, 0, 0, 3)), 1.0));  // (3)
  const V s = sigmoid(sub(slice(e, 0, 1, 4), reshape(d, Shape{3, 1, 1})));
  const V c = concat(std::vector<V>{s, sin(e)}, 0);
  return add(sum(mul(c, c)), mean(sum(log(add(e, 1.0)), {1}, true)));
}

}  // namespace

TEST_CASE("cuda: first and second derivatives of a Var expression equal the CPU's") {
  Poisoned p;
  const auto xc = randn<double>({2, 3, 4}, 20), wc = randn<double>({3, 4}, 21), bc = randn<double>({4}, 22);
  const auto index = Tensor<std::int64_t, Cpu>::from({1, 0, 1, 0, 1}, {5});
  auto run = [&](auto x, auto w, auto b) {
    using V = decltype(x);
    const V y = expression(x, w, b, index);
    const auto g = autograd::grad(std::vector<V>{y}, std::vector<V>{x, w, b}, {.create_graph = true});
    // Second order: the gradient of <dy/dx, sin(dy/dx)> + <dy/dw, dy/dw> (projections held constant).
    const V vx = V::constant(g[0].value()), vw = V::constant(g[1].value());
    const V m = add(sum(mul(g[0], sin(vx))), sum(mul(g[1], vw)));
    auto gg = autograd::grad(std::vector<V>{m}, std::vector<V>{x, w, b});
    std::vector<V> all{y, g[0], g[1], g[2]};
    all.insert(all.end(), gg.begin(), gg.end());
    return all;
  };
  const auto cpu = run(Var<double>::parameter(xc), Var<double>::parameter(wc), Var<double>::parameter(bc));
  const auto gpu = run(Var<double, Cuda>::parameter(to_device(xc)), Var<double, Cuda>::parameter(to_device(wc)),
                       Var<double, Cuda>::parameter(to_device(bc)));
  REQUIRE(gpu.size() == cpu.size());
  const char* names[] = {"value", "dx", "dw", "db", "d2 x", "d2 w", "d2 b"};
  for (std::size_t k = 0; k < cpu.size(); ++k) check_close(gpu[k].value(), cpu[k].value(), names[k]);
}

TEST_CASE("seeded noise drawn on the GPU equals the CPU's; given maps pass through; point subsets are refused") {
  test::Poisoned poisoned;
  nn::NoiseSource<float, Cuda> gpu{.mode = nn::NoiseMode::seeded, .seed = 11};
  const nn::NoiseSource<float> cpu{.mode = nn::NoiseMode::seeded, .seed = 11};
  for (int layer : {0, 3}) check_close(gpu.draw(layer, 3, 1000), cpu.draw(layer, 3, 1000), "seeded noise");
  const auto map = randn<float>({2, 5}, 4);
  gpu = {.mode = nn::NoiseMode::given, .maps = {to_device(map)}};
  check_close(gpu.draw(0, 2, 5), map.reshape({2, 5, 1}), "given noise");
  CHECK_THROWS_WITH_AS(gpu.draw(0, 2, 4), doctest::Contains("expected (2, 4)"), Error);
  gpu.points = Tensor<std::int64_t>::from({0, 1}, {2});
  CHECK_THROWS_WITH_AS(gpu.draw(0, 2, 2), doctest::Contains("point indices"), Error);
  gpu = {};
  CHECK_FALSE(gpu.draw(0, 1, 4).defined());
}
