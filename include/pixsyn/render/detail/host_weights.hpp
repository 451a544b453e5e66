#pragma once
// Weights copied out of a CPU generator for the GPU renderers (cuda_cips.hpp, cuda_creps.hpp), with the
// runtime scales applied as the CPU layers apply them.
#include <vector>

#include "pixsyn/core/tensor.hpp"

namespace pixsyn::render::detail {

inline std::vector<float> values(const Tensor<float>& t) { return t.to_vector(); }

// t · scale, each value the same fp32 product as the CPU layers' mul(weight, scale).
inline std::vector<float> scaled(const Tensor<float>& t, double scale) {
  auto v = values(t);
  const auto s = static_cast<float>(scale);
  for (auto& x : v) x *= s;
  return v;
}

}  // namespace pixsyn::render::detail
