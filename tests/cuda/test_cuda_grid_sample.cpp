// grid_sample's backward on the GPU: grid_sample_adjoint against the Eigen one on random inputs (every corner
// convention and padding, points outside the image, many points per pixel, none at all) with every GPU
// allocation poisoned, and the same bits on a second run (it gathers, without atomics); grid_sample on Var with a
// fixed grid and CIPS's patch rendering (the learned embedding read bilinearly) differentiated on the GPU as on
// the CPU in double; a grid that takes a gradient is refused on the GPU.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "pixsyn/autograd/backward.hpp"
#include "pixsyn/autograd/functions/grid_sample.hpp"
#include "pixsyn/cuda.hpp"
#include "pixsyn/models/cips.hpp"
#include "pixsyn/models/cips/patches.hpp"
#include "pixsyn/ops/arithmetic.hpp"
#include "support/cuda.hpp"
#include "support/errors.hpp"

namespace {

using namespace pixsyn;
using namespace pixsyn::test;

template <class T>
double tolerance() {
  return std::is_same_v<T, float> ? 1e-5 : 1e-12;
}

}  // namespace

TEST_CASE_TEMPLATE("cuda: grid_sample_adjoint equals Eigen's and gives the same bits every run", T, float, double) {
  Poisoned poisoned;
  struct Case {
    Shape g, grid;
    std::int64_t height, width;
    T scale;
  };
  // Points past the edges; a small image under many points (each pixel sums many); CIPS's lookup (one plane,
  // all points in one row); a grid far outside (no pixel touched: zeros).
  for (const Case& c :
       {Case{{2, 5, 11, 13}, {2, 11, 13, 2}, 7, 9, T(1.5)}, Case{{3, 4, 40, 30}, {3, 40, 30, 2}, 5, 6, T(1)},
        Case{{1, 16, 1, 600}, {1, 1, 600, 2}, 16, 16, T(1)}, Case{{1, 2, 3, 4}, {1, 3, 4, 2}, 5, 5, T(0)}}) {
    const auto g = randn<T>(c.g, 80);
    auto grid = mul(randn<T>(c.grid, 81), c.scale);
    if (c.scale == T(0)) grid = add(grid, T(5));
    for (bool align : {false, true})
      for (Padding padding : {Padding::zeros, Padding::border}) {
        const GridSampleOptions options{.align_corners = align, .padding = padding};
        CAPTURE(c.g);
        CAPTURE(align);
        CAPTURE(static_cast<int>(padding));
        const auto want = grid_sample_adjoint(g, grid, c.height, c.width, options);
        const auto got = grid_sample_adjoint(to_device(g), to_device(grid), c.height, c.width, options);
        CHECK(max_relative_error(got, want) <= tolerance<T>());
        const auto again = to_host(grid_sample_adjoint(to_device(g), to_device(grid), c.height, c.width, options));
        CHECK(again.to_vector() == to_host(got).to_vector());
      }
  }
}

TEST_CASE("cuda: grid_sample on Var with a fixed grid: the input's gradient and its derivative equal the CPU's") {
  const auto input = randn<double>({2, 3, 6, 5}, 82), g = randn<double>({2, 3, 4, 7}, 83);
  const auto grid = mul(randn<double>({2, 4, 7, 2}, 84), 1.2);
  for (bool align : {false, true})
    for (Padding padding : {Padding::zeros, Padding::border}) {
      const GridSampleOptions options{.align_corners = align, .padding = padding};
      CAPTURE(align);
      CAPTURE(static_cast<int>(padding));
      const auto derivatives = [&]<class D>(const Tensor<double, D>& x0, const Tensor<double, D>& xy,
                                            const Tensor<double, D>& seed) {
        // The square makes the second derivative depend on the input.
        const auto x = Var<double, D>::parameter(x0);
        const auto y = grid_sample(mul(x, x), Var<double, D>(xy), options);
        const auto dx = autograd::grad(std::vector{y}, std::vector{x}, {.create_graph = true},
                                       std::vector{Var<double, D>(seed)})[0];
        return std::pair{dx.value(), autograd::grad(sum(mul(dx, dx)), x).value()};
      };
      const auto [dx, ddx] = derivatives(input, grid, g);
      const auto [dx_gpu, ddx_gpu] = derivatives(to_device(input), to_device(grid), to_device(g));
      CHECK(max_relative_error(dx_gpu, dx) <= 1e-12);
      CHECK(max_relative_error(ddx_gpu, ddx) <= 1e-12);
    }
  const auto x = Var<double, Cuda>::parameter(to_device(input));
  CHECK(contains(error_of([&] { grid_sample(x, Var<double, Cuda>::parameter(to_device(grid))); }),
                 "grid_sample: on cuda the grid takes no gradient"));
}

TEST_CASE("cuda: CIPS's patch rendering (the embedding read bilinearly) has the CPU's gradients in double") {
  constexpr cips::Config tiny{.size = 16, .hidden = 8, .style_dim = 8, .mapping_layers = 2, .channels = {8, 8, 8}};
  cips::Generator<tiny, double> cpu(5);
  cips::Generator<tiny, double, Cuda> gpu;
  gpu.load_state_dict(nn::state_dict_on<Cuda>(cpu.state_dict()));
  // Two samples of 4 x 4 patches at scattered points of the 16 x 16 grid, as multi-scale patches have.
  const auto xy = mul(randn<double>({2, 16, 2}, 85), 0.6);
  const auto z = randn<double>({2, 8}, 86), seed = randn<double>({2, 3, 4, 4}, 87);
  const auto render = [&]<class D>(const cips::Generator<tiny, double, D>& g) {
    const auto images = cips::synthesize_patches(g, g.map(Var<double, D>(pixsyn::detail::on_device<D>(z))),
                                                 Var<double, D>(pixsyn::detail::on_device<D>(xy)),
                                                 nn::NoiseSource<double, D>{.mode = nn::NoiseMode::seeded, .seed = 3});
    autograd::backward(sum(mul(images, Var<double, D>(pixsyn::detail::on_device<D>(seed)))));
    return images.value();
  };
  CHECK(max_relative_error(render(gpu), render(cpu)) <= 1e-12);
  const auto cpu_params = cpu.named_parameters();
  const auto gpu_params = gpu.named_parameters();
  REQUIRE(cpu_params.size() == gpu_params.size());
  for (std::size_t i = 0; i < cpu_params.size(); ++i) {
    CAPTURE(cpu_params[i].first);
    REQUIRE(cpu_params[i].second->grad().defined());
    REQUIRE(gpu_params[i].second->grad().defined());
    CHECK(max_relative_error(gpu_params[i].second->grad().value(), cpu_params[i].second->grad().value()) <= 1e-10);
  }
}
