#pragma once
// Sums over a set of axes on the GPU (src/cuda/reduce.cu), accumulated in double like the CPU kernel.
#include <array>
#include <cstdint>

#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/core/shape.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::backend::cuda {

// Output element o sums the input at offset(o over the kept axes) + offset(r over the reduced axes)
// for r < count; strides are the input's, in elements.
struct ReduceGeometry {
  std::int64_t outputs = 1, count = 1;
  int kept_rank = 0, reduced_rank = 0;
  std::int64_t kept_extent[max_rank] = {}, kept_stride[max_rank] = {};
  std::int64_t reduced_extent[max_rank] = {}, reduced_stride[max_rank] = {};
};

// out[o] = T(sum) * scale.
template <class T>
void sum(const T* in, T* out, const ReduceGeometry& g, T scale);

// Sums x over the flagged axes, times `scale`; the result keeps rank (reduced extents become 1).
template <class T>
Tensor<T, Cuda> sum_keepdim(const Tensor<T, Cuda>& x, const std::array<bool, max_rank>& reduce, T scale = T(1)) {
  ReduceGeometry g;
  Shape kept;
  const auto strides = x.shape().strides();
  for (int a = 0; a < x.rank(); ++a) {
    kept.push_back(reduce[a] ? 1 : x.dim(a));
    if (reduce[a]) {
      g.reduced_extent[g.reduced_rank] = x.dim(a);
      g.reduced_stride[g.reduced_rank++] = strides[a];
      g.count *= x.dim(a);
    } else {
      g.kept_extent[g.kept_rank] = x.dim(a);
      g.kept_stride[g.kept_rank++] = strides[a];
      g.outputs *= x.dim(a);
    }
  }
  auto out = Tensor<T, Cuda>::empty(kept);
  sum(x.data(), out.data(), g, scale);
  return out;
}

}  // namespace pixsyn::backend::cuda
