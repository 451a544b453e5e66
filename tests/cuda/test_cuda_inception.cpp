// The InceptionV3 feature network on the GPU (metrics/inception.hpp, metrics/pooling.hpp) against the CPU on
// random inputs: the pools and the resize in double, the whole network's features in float. Every GPU
// allocation is poisoned (NaN), so that an unwritten output fails.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "pixsyn/metrics/inception.hpp"
#include "pixsyn/metrics/pooling.hpp"
#include "support/cuda.hpp"
#include "support/inception.hpp"

namespace {

using namespace pixsyn;
using namespace pixsyn::test;

}  // namespace

TEST_CASE("cuda: pool2d and the half-pixel resize equal the CPU's") {
  Poisoned p;
  const auto x = randn<double>({2, 5, 13, 11}, 11);
  const auto xg = to_device(x);
  for (const auto o :
       {metrics::Pool2dOptions{.kind = metrics::PoolKind::max, .kernel = 3, .stride = 2},
        metrics::Pool2dOptions{.kind = metrics::PoolKind::average, .kernel = 3, .stride = 1, .same = true},
        metrics::Pool2dOptions{.kind = metrics::PoolKind::average, .kernel = 8, .stride = 8}}) {
    CAPTURE(o.kernel);
    CHECK(max_relative_error(metrics::pool2d(xg, o), metrics::pool2d(x, o)) < 1e-14);
  }
  CHECK(max_relative_error(metrics::resize_bilinear_half_pixel(xg, 29, 7),
                           metrics::resize_bilinear_half_pixel(x, 29, 7)) < 1e-12);
}

TEST_CASE("cuda: InceptionV3 features (mixed5, final pool) equal the CPU's to 1e-4") {
  if (!inception_weights_available()) return;
  Poisoned p;
  const metrics::InceptionV3<float, Cpu> cpu;
  const metrics::InceptionV3<float, Cuda> gpu;
  const auto images = Tensor<float>::rand({2, 3, 64, 48}, Philox{3, 0});
  for (const auto layer : {metrics::InceptionLayer::mixed5, metrics::InceptionLayer::final_pool}) {
    const double error = max_relative_error(gpu.features(to_device(images), layer), cpu.features(images, layer));
    MESSAGE("features of ", metrics::layer_name(layer), ": GPU vs CPU ", error);
    CHECK(error < 1e-4);
  }
}
