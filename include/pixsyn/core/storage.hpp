#pragma once
// Device memory for tensors. The CPU specialisation lives here; the CUDA one in backend/cuda, so that
// core never needs CUDA headers.
#include <cstddef>
#include <memory>
#include <new>

#include "pixsyn/core/device.hpp"

namespace pixsyn::detail {

template <class Device>
struct Memory;  // specialised per device: allocate(bytes) -> shared_ptr<void>

template <>
struct Memory<Cpu> {
  static constexpr std::size_t alignment = 64;  // a cache line, and enough for AVX-512 loads
  static std::shared_ptr<void> allocate(std::size_t bytes) {
    void* p = ::operator new(bytes == 0 ? 1 : bytes, std::align_val_t(alignment));
    return std::shared_ptr<void>(p, [](void* q) { ::operator delete(q, std::align_val_t(alignment)); });
  }
};

}  // namespace pixsyn::detail
