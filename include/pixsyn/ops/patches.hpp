#pragma once
// ALIS's patch-wise application (the official `patchwise_op`), as templates over the value type (Tensor
// or, with autograd/functions/patches.hpp, Var), made of reshape and permute.
//
//   patches_to_batch(x, g)    (B, C, H, g·w) -> (B·g, C, H, w): the width splits into g patches and patch k
//                             of sample b becomes batch entry b·g + k.
//   patches_from_batch(y, g)  the inverse: (B·g, C, H', w') -> (B, C, H', g·w').
//   per_patch(x, g, op)       patches_from_batch(op(patches_to_batch(x, g)), g): op (a 3×3 convolution with
//                             zero padding, an upsampling) sees every patch as an image of its own.
#include <cstdint>
#include <utility>

#include "pixsyn/core/tensor.hpp"
#include "pixsyn/ops/permute.hpp"
#include "pixsyn/ops/shape.hpp"

namespace pixsyn {

template <class V>
V patches_to_batch(const V& x, std::int64_t patches) {
  detail::check(x.rank() == 4 && patches >= 1 && x.dim(3) % patches == 0, "patches_to_batch: x ", x.shape(),
                " must be (B, C, H, W) with W divisible into ", patches, " patches");
  if (patches == 1) return x;
  const std::int64_t b = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3) / patches;
  return reshape(permute(reshape(x, Shape{b, c, h, patches, w}), {0, 3, 1, 2, 4}), Shape{b * patches, c, h, w});
}

template <class V>
V patches_from_batch(const V& y, std::int64_t patches) {
  detail::check(y.rank() == 4 && patches >= 1 && y.dim(0) % patches == 0, "patches_from_batch: y ", y.shape(),
                " must be (B·g, C, H, W) with a batch divisible by g = ", patches);
  if (patches == 1) return y;
  const std::int64_t b = y.dim(0) / patches, c = y.dim(1), h = y.dim(2), w = y.dim(3);
  return reshape(permute(reshape(y, Shape{b, patches, c, h, w}), {0, 2, 3, 1, 4}), Shape{b, c, h, patches * w});
}

template <class V, class Op>
V per_patch(const V& x, std::int64_t patches, Op&& op) {
  return patches_from_batch(std::forward<Op>(op)(patches_to_batch(x, patches)), patches);
}

}  // namespace pixsyn
