#pragma once
// Finding the first NaN or infinity of a CPU tensor: values from outside (weights, latents) and
// results written out are checked with it, so that a non-finite number is reported, not propagated.
#include <cmath>
#include <cstdint>
#include <optional>
#include <type_traits>

#include "pixsyn/core/tensor.hpp"

namespace pixsyn {

// The flat (row-major) index of the first NaN or ±inf of t, or nothing when every value is finite.
template <class T>
std::optional<std::int64_t> first_non_finite(const Tensor<T, Cpu>& t) {
  static_assert(std::is_floating_point_v<T>, "first_non_finite: T must be a floating-point type");
  const T* data = t.data();
  const std::int64_t n = t.numel();
  for (std::int64_t i = 0; i < n; ++i)
    if (!std::isfinite(data[i])) return i;
  return std::nullopt;
}

}  // namespace pixsyn
