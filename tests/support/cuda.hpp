#pragma once
// Shared pieces of the GPU tests: poisoned allocations, TF32 math, seeded random CPU inputs.
#include <cstdint>

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

}  // namespace pixsyn::test
