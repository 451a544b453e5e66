#pragma once
// Shared pieces of the GPU tests: poisoned allocations, TF32 math, seeded random CPU inputs, the GPU-vs-CPU
// error measure.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::test {

// Poisons (NaN-fills) every GPU allocation while in scope, so that unwritten outputs fail.
struct Poisoned {
  Poisoned() { backend::cuda::set_poison_allocations(true); }
  ~Poisoned() { backend::cuda::set_poison_allocations(false); }
};

// TF32 math for fp32 GEMMs (Context::allow_tf32) while in scope.
struct Tf32Math {
  Tf32Math() { backend::cuda::Context::instance().set_allow_tf32(true); }
  ~Tf32Math() { backend::cuda::Context::instance().set_allow_tf32(false); }
};

template <class T>
Tensor<T, Cpu> randn(const Shape& s, std::uint64_t seed) {
  return Tensor<T, Cpu>::randn(s, Philox{seed, 0});
}

// max |got - want| / max |want|: GPU kernels sum in another order than Eigen, so elements that cancel to
// near zero carry absolute, not relative, rounding. NaN never passes (it measures infinite).
template <class T>
double max_relative_error(const Tensor<T, Cpu>& got, const Tensor<T, Cpu>& want) {
  REQUIRE(got.shape() == want.shape());
  double err = 0, scale = std::numeric_limits<double>::min();
  for (std::int64_t i = 0; i < want.numel(); ++i) {
    const double d = std::abs(double(got.data()[i]) - double(want.data()[i]));
    if (std::isnan(d)) return std::numeric_limits<double>::infinity();
    err = std::max(err, d);
    scale = std::max(scale, std::abs(double(want.data()[i])));
  }
  return err / scale;
}
template <class T>
double max_relative_error(const Tensor<T, Cuda>& got, const Tensor<T, Cpu>& want) {
  return max_relative_error(to_host(got), want);
}

}  // namespace pixsyn::test
