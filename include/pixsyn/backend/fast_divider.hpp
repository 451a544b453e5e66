#pragma once
// Division by a divisor fixed at launch time with a multiply-high, an add and a shift instead of a
// division: GPUs have no integer divider, and the index arithmetic of the convolution and FIR kernels
// (src/cuda/conv.cu, upfirdn2d.cu) would otherwise spend most of their time in the division routine.
#include <cstdint>

#include <string>

#include "pixsyn/core/error.hpp"
#include "pixsyn/core/host_device.hpp"

namespace pixsyn::backend {

// Exact for numerators and divisors in [0, 2^31) (Granlund and Montgomery's round-up method: with
// 2^(s-1) < d <= 2^s and m = floor(2^32 (2^s - d) / d) + 1, n / d = (mulhi(n, m) + n) >> s; the sum stays
// below 2^32 because mulhi(n, m) <= n < 2^31).
class FastDivider {
 public:
  FastDivider() = default;
  explicit FastDivider(std::int64_t d) : divisor_(static_cast<std::uint32_t>(d)) {
    if (d < 1 || d >= limit) throw Error("FastDivider: divisor " + std::to_string(d) + " outside [1, 2^31)");
    while ((std::uint64_t(1) << shift_) < std::uint64_t(d)) ++shift_;
    multiplier_ = static_cast<std::uint32_t>(
        ((std::uint64_t(1) << 32) * ((std::uint64_t(1) << shift_) - d)) / static_cast<std::uint64_t>(d) + 1);
  }

  static constexpr std::int64_t limit = std::int64_t(1) << 31;

  PIXSYN_HOST_DEVICE std::int32_t divisor() const { return static_cast<std::int32_t>(divisor_); }
  // n / d for n in [0, 2^31).
  PIXSYN_HOST_DEVICE std::int32_t div(std::int32_t n) const {
    const auto u = static_cast<std::uint32_t>(n);
#if defined(__CUDA_ARCH__)
    const std::uint32_t high = __umulhi(u, multiplier_);
#else
    const auto high = static_cast<std::uint32_t>((std::uint64_t(u) * multiplier_) >> 32);
#endif
    return static_cast<std::int32_t>((high + u) >> shift_);
  }

 private:
  std::uint32_t divisor_ = 1, multiplier_ = 1, shift_ = 0;
};

}  // namespace pixsyn::backend
