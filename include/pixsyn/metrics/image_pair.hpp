#pragma once
// The checks every image-comparison metric makes on its two inputs: defined, equal shapes, finite.
#include <cstdint>

#include "pixsyn/core/error.hpp"
#include "pixsyn/core/finite.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::metrics::detail {

template <class T>
void check_image_pair(const char* op, const Tensor<T>& a, const Tensor<T>& b, double data_range) {
  pixsyn::detail::check(a.defined() && b.defined() && a.numel() > 0, op, ": both images must be non-empty");
  pixsyn::detail::check(a.shape() == b.shape(), op, ": the images have different shapes ", a.shape(), " and ",
                        b.shape());
  pixsyn::detail::check(std::isfinite(data_range) && data_range > 0, op,
                        ": data_range must be positive and finite, got ", data_range);
  for (const Tensor<T>* t : {&a, &b})
    if (const auto bad = first_non_finite(*t))
      pixsyn::detail::fail(op, ": image ", t == &a ? "a" : "b", " holds a non-finite value (", t->data()[*bad],
                           ") at flat index ", *bad);
}

}  // namespace pixsyn::metrics::detail
