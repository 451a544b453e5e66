// matmul (3 forms), linear, modulated_fc and grid_sample on the GPU against the Eigen ops, on fresh
// random inputs with every GPU allocation poisoned (NaN), so that unwritten outputs fail.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>

#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/ops/arithmetic.hpp"
#include "pixsyn/ops/grid_sample.hpp"
#include "pixsyn/ops/matmul.hpp"
#include "pixsyn/ops/modulated_fc.hpp"
#include "support/cuda.hpp"

namespace {

using namespace pixsyn;
using namespace pixsyn::test;

// max |gpu - cpu| / max |cpu|: the GEMMs sum in another order than Eigen, so single elements that
// cancel to near zero carry absolute, not relative, rounding. NaN never passes.
template <class T>
void check_close(const Tensor<T, Cuda>& gpu, const Tensor<T, Cpu>& cpu, const std::string& what) {
  INFO(what << " " << cpu.shape());
  const auto g = to_host(gpu);
  REQUIRE(g.shape() == cpu.shape());
  double err = 0, scale = std::numeric_limits<double>::min();
  for (std::int64_t i = 0; i < cpu.numel(); ++i) {
    const double d = std::abs(double(g.data()[i]) - double(cpu.data()[i]));
    err = std::isnan(d) ? std::numeric_limits<double>::infinity() : std::max(err, d);
    scale = std::max(scale, std::abs(double(cpu.data()[i])));
  }
  const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-12;
  INFO("relative error " << err / scale);
  CHECK(err / scale <= tolerance);
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
