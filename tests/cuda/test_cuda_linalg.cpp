// matmul (3 forms), linear, modulated_fc, grid_sample and the 3×TF32 split GEMM on the GPU against the
// Eigen ops, on fresh random inputs with every GPU allocation poisoned (NaN), so that unwritten outputs fail.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/backend/cuda/split_gemm.hpp"
#include "pixsyn/ops/arithmetic.hpp"
#include "pixsyn/ops/grid_sample.hpp"
#include "pixsyn/ops/layout.hpp"
#include "pixsyn/ops/math.hpp"
#include "pixsyn/ops/matmul.hpp"
#include "pixsyn/ops/modulated_fc.hpp"
#include "support/cuda.hpp"

namespace {

using namespace pixsyn;
using namespace pixsyn::test;

template <class T>
void check_close(const Tensor<T, Cuda>& gpu, const Tensor<T, Cpu>& cpu, const std::string& what,
                 double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12) {
  INFO(what << " " << cpu.shape());
  const double err = max_relative_error(gpu, cpu);
  INFO("relative error " << err);
  CHECK(err <= tolerance);
}

}  // namespace

TEST_CASE_TEMPLATE("cuda: matmul, batched matmul and shared-b matmul equal Eigen", T, float, double) {
  Poisoned p;
  std::uint64_t seed = 1;
  for (auto [m, k, n] : {std::array<std::int64_t, 3>{1, 1, 1}, {7, 13, 5}, {64, 512, 96}, {129, 3, 257}}) {
    const auto a = randn<T>({m, k}, seed++), b = randn<T>({k, n}, seed++);
    check_close(matmul(to_device(a), to_device(b)), matmul(a, b), "matmul");
    const auto ab = randn<T>({3, m, k}, seed++), bb = randn<T>({3, k, n}, seed++);
    check_close(matmul(to_device(ab), to_device(bb)), matmul(ab, bb), "batched matmul");
    check_close(matmul(to_device(ab), to_device(b)), matmul(ab, b), "shared-b matmul");
  }
  CHECK_THROWS_AS(matmul(to_device(randn<T>({2, 3}, 1)), to_device(randn<T>({4, 2}, 2))), Error);
}

// x converted element by element to U.
template <class U, class T>
Tensor<U, Cpu> converted(const Tensor<T, Cpu>& x) {
  auto out = Tensor<U, Cpu>::empty(x.shape());
  for (std::int64_t i = 0; i < x.numel(); ++i) out.data()[i] = static_cast<U>(x.data()[i]);
  return out;
}

// TF32 math reads each fp32 operand with 10 explicit mantissa bits; the tensor cores may truncate instead of
// rounding, so an operand is off by less than 2^-10 of itself and a product a·b by less than 2·2^-10 + 2^-20 of
// |a·b|; summing k terms in fp32, in any order, adds at most k·2^-24 of Σ|a·b|. Element (i, j) of the product is
// therefore within (2·2^-10 + 2^-20 + k·2^-24) Σ_k |a_ik b_kj| of the exact one (1.98e-3 at k = 512), and
// strict fp32 within k·2^-24 ≈ 3.1e-5: that TF32 was used shows as an error beyond that (its rounding of random
// operands gives about 1e-4 at the worst of these 49,152 elements).
TEST_CASE("cuda: TF32 math is off by default and, when on, moves fp32 matmuls by TF32's rounding only") {
  Poisoned p;
  auto& context = backend::cuda::Context::instance();
  CHECK_FALSE(context.allow_tf32());
  constexpr std::int64_t k = 512;
  const auto a = randn<float>({256, k}, 60), b = randn<float>({k, 192}, 61);
  const auto a64 = converted<double>(a), b64 = converted<double>(b);
  const auto exact = matmul(a64, b64), magnitude = matmul(abs(a64), abs(b64));  // Σ_k |a_ik b_kj|
  // The largest |gpu - exact| / Σ|a b| over the elements.
  const auto worst = [&](const Tensor<float, Cuda>& gpu) {
    const auto g = to_host(gpu);
    double w = 0;
    for (std::int64_t i = 0; i < exact.numel(); ++i) {
      const double e = std::abs(double(g.data()[i]) - exact.data()[i]) / magnitude.data()[i];
      w = std::isnan(e) ? std::numeric_limits<double>::infinity() : std::max(w, e);
    }
    return w;
  };
  const double accumulation = k * std::ldexp(1.0, -24), gamma = 2 * std::ldexp(1.0, -10) + std::ldexp(1.0, -20);
  const double strict = worst(matmul(to_device(a), to_device(b)));
  double tf32 = 0;
  {
    const Tf32Math on;
    tf32 = worst(matmul(to_device(a), to_device(b)));
    check_close(matmul(to_device(a64), to_device(b64)), exact, "fp64 ignores TF32");
  }
  CHECK_FALSE(context.allow_tf32());
  INFO("largest error / Σ|a b|: strict " << strict << ", tf32 " << tf32);
  CHECK(strict <= accumulation);
  CHECK(tf32 <= gamma + accumulation);
  // The mode reached the GEMM (tensor cores since compute capability 8.0).
  if (context.compute_capability() >= 80) CHECK(tf32 > accumulation);
}

TEST_CASE_TEMPLATE("cuda: linear equals Eigen, with and without bias", T, float, double) {
  Poisoned p;
  for (auto [rows, in, out] : {std::array<std::int64_t, 3>{1, 1, 1}, {37, 19, 11}, {300, 512, 64}}) {
    const auto x = randn<T>({2, rows, in}, 10 + rows), w = randn<T>({out, in}, 20 + in), b = randn<T>({out}, 30);
    check_close(linear(to_device(x), to_device(w), to_device(b)), linear(x, w, b), "linear with bias");
    check_close(linear(to_device(x), to_device(w)), linear(x, w), "linear");
  }
  CHECK_THROWS_AS(linear(to_device(randn<T>({2, 3}, 1)), to_device(randn<T>({4, 2}, 2))), Error);
}

TEST_CASE_TEMPLATE("cuda: modulated_fc equals Eigen", T, float, double) {
  Poisoned p;
  for (bool demodulate : {true, false})
    for (auto [batch, pixels, in, out] :
         {std::array<std::int64_t, 4>{1, 1, 1, 1}, {2, 33, 24, 16}, {3, 1000, 512, 3}, {4, 257, 300, 512}}) {
      const auto x = randn<T>({batch, pixels, in}, 40 + in), w = randn<T>({out, in}, 50 + out);
      const auto s = add(randn<T>({batch, in}, 60), T(1));
      const ModulatedFcOptions options{.demodulate = demodulate, .eps = 1e-8};
      check_close(modulated_fc(to_device(x), to_device(w), to_device(s), options), modulated_fc(x, w, s, options),
                  demodulate ? "modulated_fc (demodulated)" : "modulated_fc");
      // x (1, P, I) shared by the batch: the GPU reads it for every sample in place (batch stride 0).
      const auto shared = randn<T>({1, pixels, in}, 70 + in);
      check_close(modulated_fc(to_device(shared), to_device(w), to_device(s), options),
                  modulated_fc(shared, w, s, options), "modulated_fc of an x shared by the batch");
    }
  CHECK_THROWS_AS(
      modulated_fc(to_device(randn<T>({2, 5, 3}, 1)), to_device(randn<T>({4, 3}, 2)), to_device(randn<T>({2, 4}, 3))),
      Error);
}

TEST_CASE_TEMPLATE("cuda: grid_sample equals Eigen for both corner conventions and paddings", T, float, double) {
  Poisoned p;
  const auto input = randn<T>({2, 5, 7, 9}, 70);
  // Points well outside [-1, 1] as well, so that the paddings matter.
  auto grid = mul(randn<T>({2, 6, 11, 2}, 71), T(1.5));
  grid.data()[3] = T(1);
  grid.data()[4] = T(-1);
  for (bool align : {false, true})
    for (Padding padding : {Padding::zeros, Padding::border}) {
      const GridSampleOptions options{.align_corners = align, .padding = padding};
      check_close(grid_sample(to_device(input), to_device(grid), options), grid_sample(input, grid, options),
                  std::string("grid_sample align_corners=") + (align ? "true" : "false") +
                      (padding == Padding::border ? " border" : " zeros"));
    }
  CHECK_THROWS_AS(grid_sample(to_device(input), to_device(randn<T>({2, 6, 11, 3}, 1))), Error);
}

TEST_CASE("cuda: split_tf32 stores exact TF32 heads and fp32 remainders, left and right") {
  Poisoned p;
  const std::int64_t rows = 37, k = 29;
  auto x = randn<float>({rows, k}, 80);
  // Edges: zeros, a denormal, a huge value, a tie (1 + 2^-11 rounds away from zero), a negative tie.
  const float edges[] = {0.0f, -0.0f, 1e-40f, 3e38f, 1.0f + 0x1p-11f, -(1.0f + 3 * 0x1p-11f)};
  std::copy(std::begin(edges), std::end(edges), x.data());
  const auto xd = to_device(x);
  using backend::cuda::SplitSide;
  for (auto side : {SplitSide::left, SplitSide::right}) {
    INFO((side == SplitSide::left ? "left" : "right"));
    auto out = Tensor<float, Cuda>::empty({rows, 3 * k});
    backend::cuda::split_tf32(rows, k, xd.data(), side, out.data());
    const auto h = to_host(out);
    std::int64_t bad = 0;
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t i = 0; i < k; ++i) {
        // left [r | h | h], right [h | r | h]
        const float v = x.data()[r * k + i], *row = h.data() + r * 3 * k;
        const float head = row[2 * k + i], head2 = side == SplitSide::left ? row[k + i] : row[i];
        const float rest = side == SplitSide::left ? row[i] : row[k + i];
        const bool tf32 = (std::bit_cast<std::uint32_t>(head) & 0x1fffu) == 0;
        const bool exact = double(head) + double(rest) == double(v);
        // Within half a TF32 step: 2^-11 relative, or 2^-137 absolute among the denormals.
        const bool small = std::abs(double(rest)) <= std::max(std::abs(double(v)) * 0x1p-11, 0x1p-137);
        if (!tf32 || std::bit_cast<std::uint32_t>(head2) != std::bit_cast<std::uint32_t>(head) || !exact || !small)
          ++bad;
      }
    CHECK(bad == 0);
    const float* head0 = h.data() + 2 * k;
    CHECK(head0[4] == 1.0f + 0x1p-10f);  // the tie rounds away from zero
    CHECK(head0[5] == -(1.0f + 0x1p-9f));
  }
}

TEST_CASE("cuda: split_tf32_gemm equals Eigen and the fp64 product to fp32 accuracy") {
  Poisoned p;
  using backend::cuda::SplitSide;
  std::uint64_t seed = 90;
  for (auto [m, n, k] :
       {std::array<std::int64_t, 3>{1, 1, 1}, {7, 5, 13}, {129, 257, 3}, {300, 64, 512}, {33, 96, 1000}})
    for (bool shared_b : {false, true}) {
      const std::int64_t batch = 3, nb = shared_b ? 1 : batch;
      // Rows of very different magnitudes: the split must hold for any exponent.
      auto a = randn<float>({batch, m, k}, seed++);
      for (std::int64_t r = 0; r < batch * m; ++r)
        for (std::int64_t i = 0; i < k; ++i) a.data()[r * k + i] *= std::ldexp(1.0f, int(r % 7) * 6 - 18);
      const auto b = randn<float>({nb, n, k}, seed++);
      auto as = Tensor<float, Cuda>::empty({batch, m, 3 * k}), bs = Tensor<float, Cuda>::empty({nb, n, 3 * k});
      backend::cuda::split_tf32(batch * m, k, to_device(a).data(), SplitSide::left, as.data());
      backend::cuda::split_tf32(nb * n, k, to_device(b).data(), SplitSide::right, bs.data());
      // The Eigen path: linear(a_i, b_i) = a_i b_iᵀ per product.
      std::vector<Tensor<float>> eigen;
      for (std::int64_t i = 0; i < batch; ++i)
        eigen.push_back(linear(a.narrow(i, 1), b.narrow(shared_b ? 0 : i, 1).reshape({n, k})));
      const auto want = concat(eigen, 0);
      for (int accumulations : {1, 2, 4}) {
        auto c = Tensor<float, Cuda>::empty({batch, m, n});
        backend::cuda::split_tf32_gemm(batch, m, n, k, as.data(), m * 3 * k, bs.data(), shared_b ? 0 : n * 3 * k,
                                       c.data(), m * n, accumulations);
        // Against the fp64 sums, row by row, relative to the row's Σ|a b| (each row's own scale, so that small
        // rows count as much as big ones, and cancelling sums do not divide by almost nothing).
        const auto got = to_host(c);
        double worst = 0;
        for (std::int64_t i = 0; i < batch; ++i)
          for (std::int64_t r = 0; r < m; ++r) {
            double err = 0, scale = std::numeric_limits<double>::min();
            for (std::int64_t j = 0; j < n; ++j) {
              double sum = 0, magnitude = 0;
              for (std::int64_t q = 0; q < k; ++q) {
                const double t =
                    double(a.data()[(i * m + r) * k + q]) * double(b.data()[((shared_b ? 0 : i) * n + j) * k + q]);
                sum += t, magnitude += std::abs(t);
              }
              const double d = std::abs(double(got.data()[(i * m + r) * n + j]) - sum);
              err = std::isnan(d) ? std::numeric_limits<double>::infinity() : std::max(err, d);
              scale = std::max(scale, magnitude);
            }
            worst = std::max(worst, err / scale);
          }
        const std::string what = std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k) +
                                 (shared_b ? " shared b, " : ", ") + std::to_string(accumulations) + " accumulations";
        INFO(what);
        MESSAGE("split_tf32_gemm " << what << ": " << worst << " of the row's sum of |a b| from the fp64 product");
        CHECK(worst <= 1e-5);
        // One accumulation (the fastest) keeps a looser bound: split_gemm.hpp.
        check_close(c, want, "split_tf32_gemm against Eigen",
                    accumulations >= backend::cuda::default_split_accumulations ? 1e-5 : 3e-5);
      }
    }
}
