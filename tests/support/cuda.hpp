#pragma once
// Shared pieces of the GPU tests: poisoned allocations and seeded random CPU inputs.
#include <cstdint>

#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::test {

// Poisons (NaN-fills) every GPU allocation while in scope, so that unwritten outputs fail.
struct Poisoned {
  Poisoned() { backend::cuda::set_poison_allocations(true); }
  ~Poisoned() { backend::cuda::set_poison_allocations(false); }
};

template <class T>
Tensor<T, Cpu> randn(const Shape& s, std::uint64_t seed) {
  return Tensor<T, Cpu>::randn(s, Philox{seed, 0});
}

}  // namespace pixsyn::test
