#pragma once
// permute and transpose on Tensor (CPU and CUDA): reorder axes, copying into a new contiguous tensor.
#include <array>
#include <ostream>
#include <vector>

#include "pixsyn/backend/cuda/elementwise.hpp"
#include "pixsyn/backend/eigen/permute.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn {

namespace detail {
// `axes` resolved against `shape` (negative axes count from the end); throws unless it is a
// permutation of all of shape's axes.
// Prints an axis list; formatting happens only when a check fails, since checks run on every call.
struct AxesList {
  const std::vector<int>& axes;
  friend std::ostream& operator<<(std::ostream& out, const AxesList& l) {
    out << "{";
    for (std::size_t i = 0; i < l.axes.size(); ++i) out << (i ? ", " : "") << l.axes[i];
    return out << "}";
  }
};

inline std::array<int, max_rank> resolve_permutation(const Shape& shape, const std::vector<int>& axes, const char* op) {
  const int r = shape.rank();
  const AxesList list{axes};
  check(static_cast<int>(axes.size()) == r, op, ": axes ", list, " do not list the ", r, " axes of shape ", shape);
  std::array<int, max_rank> resolved{};
  std::array<bool, max_rank> seen{};
  for (int i = 0; i < r; ++i) {
    const int a = axes[i] < 0 ? axes[i] + r : axes[i];
    check(a >= 0 && a < r, op, ": axis ", axes[i], " in ", list, " is out of range for shape ", shape);
    check(!seen[a], op, ": axis ", axes[i], " appears twice in ", list);
    seen[a] = true;
    resolved[i] = a;
  }
  return resolved;
}

inline std::vector<int> inverse_permutation(const std::array<int, max_rank>& axes, int rank) {
  std::vector<int> inverse(static_cast<std::size_t>(rank));
  for (int i = 0; i < rank; ++i) inverse[static_cast<std::size_t>(axes[i])] = i;
  return inverse;
}

// The permutation that swaps two axes of a rank-r tensor.
inline std::vector<int> swap_axes(const Shape& shape, int axis0, int axis1) {
  const int r = shape.rank();
  const int a = axis0 < 0 ? axis0 + r : axis0, b = axis1 < 0 ? axis1 + r : axis1;
  check(a >= 0 && a < r && b >= 0 && b < r, "transpose: axes ", axis0, " and ", axis1, " are out of range for shape ",
        shape);
  std::vector<int> axes;
  for (int i = 0; i < r; ++i) axes.push_back(i == a ? b : i == b ? a : i);
  return axes;
}
}  // namespace detail

// out.dim(i) = x.dim(axes[i]), like torch.permute / numpy.transpose.
template <class T>
Tensor<T, Cpu> permute(const Tensor<T, Cpu>& x, const std::vector<int>& axes) {
  return backend::eigen::permute(x, detail::resolve_permutation(x.shape(), axes, "permute"));
}

// A strided copy: output element i reads x at the offset of i through x's permuted strides.
template <class T>
Tensor<T, Cuda> permute(const Tensor<T, Cuda>& x, const std::vector<int>& axes) {
  const auto resolved = detail::resolve_permutation(x.shape(), axes, "permute");
  const auto own = x.shape().strides();
  backend::cuda::Strided g;
  g.rank = x.rank();
  Shape shape;
  for (int i = 0; i < g.rank; ++i) {
    shape.push_back(x.dim(resolved[i]));
    g.extent[i] = x.dim(resolved[i]);
    g.stride_a[i] = own[resolved[i]];
  }
  auto out = Tensor<T, Cuda>::empty(shape);
  backend::cuda::strided_copy(x.data(), out.data(), out.numel(), g);
  return out;
}

// Swaps two axes (by default the last two: the matrix transpose).
template <class T, class D>
Tensor<T, D> transpose(const Tensor<T, D>& x, int axis0 = -2, int axis1 = -1) {
  return permute(x, detail::swap_axes(x.shape(), axis0, axis1));
}

}  // namespace pixsyn
