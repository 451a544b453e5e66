#pragma once
// Index arithmetic for the gather kernels (conv.cu, upfirdn2d.cu): a launch whose indices all stay below
// 2^30 runs in 32 bits with FastDivider (a multiply-high instead of a division routine: 64-bit divisions
// dominated these kernels' time); larger ones keep 64-bit indices and plain divisions.
#include <cstdint>
#include <initializer_list>

#include "common.cuh"
#include "pixsyn/backend/fast_divider.hpp"

namespace pixsyn::backend::cuda {

// Whether every size is below 2^30, so that 32-bit indices, their sums with a grid-stride step (< 2^24)
// and FastDivider's numerators cannot overflow.
inline bool fits_int32(std::initializer_list<std::int64_t> sizes) {
  for (const std::int64_t s : sizes)
    if (s < 0 || s >= (std::int64_t(1) << 30)) return false;
  return true;
}

// Division by a launch-constant divisor in the index type I (std::int32_t or std::int64_t).
template <class I>
class Divider;

template <>
class Divider<std::int32_t> {
 public:
  Divider() = default;
  explicit Divider(std::int64_t d) : d_(d) {}
  PIXSYN_HOST_DEVICE std::int32_t div(std::int32_t n) const { return d_.div(n); }
  PIXSYN_HOST_DEVICE std::int32_t divisor() const { return d_.divisor(); }

 private:
  FastDivider d_;
};

template <>
class Divider<std::int64_t> {
 public:
  Divider() = default;
  explicit Divider(std::int64_t d) : d_(d) {}
  PIXSYN_HOST_DEVICE std::int64_t div(std::int64_t n) const { return n / d_; }
  PIXSYN_HOST_DEVICE std::int64_t divisor() const { return d_; }

 private:
  std::int64_t d_ = 1;
};

// Calls f(std::int32_t{}) when the sizes fit 32-bit indices, else f(std::int64_t{}): f launches its
// kernel with the index type of its argument.
template <class F>
void with_index_type(bool fits, F&& f) {
  if (fits)
    f(std::int32_t{});
  else
    f(std::int64_t{});
}

// A grid-stride loop in the index type I: `i` visits 0 .. n-1 across all threads of the launch.
#define PIXSYN_GRID_STRIDE_AS(I, i, n)                                       \
  for (I i = static_cast<I>(blockIdx.x * blockDim.x + threadIdx.x); i < (n); \
       i += static_cast<I>(blockDim.x * gridDim.x))

}  // namespace pixsyn::backend::cuda
