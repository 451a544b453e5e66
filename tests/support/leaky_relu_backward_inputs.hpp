#pragma once
// Inputs of the bit-for-bit tests of leaky_relu_backward on both devices: gradients and leaky ReLU outputs whose first
// entries pair every edge case of one with every edge case of the other.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "pixsyn/ops/activation.hpp"
#include "pixsyn/ops/arithmetic.hpp"

namespace pixsyn::test {

// (grad, y) of `shape`: y the leaky ReLU of 2·randn (both slopes and, with a clamp, both bounds), grad randn. The
// first entries set y to 0, -0, the clamp bounds (±infinity without one), one ulp inside and outside each, ±the
// smallest subnormal, ±1, each paired with a gradient of 0, -0, a subnormal, half the largest finite value, -1.
// No NaN arises: a gradient times a clamped entry's zero is a signed zero.
template <class T>
std::pair<Tensor<T, Cpu>, Tensor<T, Cpu>> leaky_relu_backward_inputs(const Shape& shape, const LeakyReluOptions& o,
                                                                     std::uint64_t seed) {
  using limits = std::numeric_limits<T>;
  auto grad = Tensor<T, Cpu>::randn(shape, Philox{seed, 0});
  auto y = leaky_relu(mul(Tensor<T, Cpu>::randn(shape, Philox{seed, 1}), T(2)), o);
  const T hi = o.clamp >= 0 ? static_cast<T>(o.clamp) : limits::infinity();
  const std::vector<T> ys = {T(0),
                             -T(0),
                             hi,
                             -hi,
                             std::nextafter(hi, T(0)),
                             std::nextafter(-hi, T(0)),
                             std::nextafter(hi, limits::infinity()),
                             std::nextafter(-hi, -limits::infinity()),
                             limits::denorm_min(),
                             -limits::denorm_min(),
                             T(1),
                             T(-1)};
  const std::vector<T> grads = {T(0), -T(0), 3 * limits::denorm_min(), limits::max() / 2, T(-1)};
  const std::int64_t edges = std::min<std::int64_t>(y.numel(), std::int64_t(ys.size() * grads.size()));
  for (std::int64_t i = 0; i < edges; ++i) {
    y.data()[i] = ys[std::size_t(i) / grads.size()];
    grad.data()[i] = grads[std::size_t(i) % grads.size()];
  }
  return {grad, y};
}

}  // namespace pixsyn::test
