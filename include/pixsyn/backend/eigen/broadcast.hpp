#pragma once
// Broadcasting geometry (NumPy rules) and the strided walk the elementwise kernels share.
#include <array>
#include <cstdint>

#include "pixsyn/core/error.hpp"
#include "pixsyn/core/shape.hpp"

namespace pixsyn::backend::eigen {

// The broadcast result of two shapes; throws naming both shapes when they are incompatible.
inline Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const int rank = a.rank() > b.rank() ? a.rank() : b.rank();
  Shape out;
  for (int i = 0; i < rank; ++i) {
    const int ia = i - (rank - a.rank()), ib = i - (rank - b.rank());
    const std::int64_t ea = ia >= 0 ? a[ia] : 1, eb = ib >= 0 ? b[ib] : 1;
    pixsyn::detail::check(ea == eb || ea == 1 || eb == 1, op, ": shapes ", a, " and ", b,
                          " cannot be broadcast together");
    out.push_back(ea == 1 ? eb : ea);
  }
  return out;
}

// Element strides of `in` read as a tensor of shape `out` (0 along broadcast axes).
inline std::array<std::int64_t, max_rank> broadcast_strides(const Shape& in, const Shape& out) {
  std::array<std::int64_t, max_rank> s{};
  const auto own = in.strides();
  const int shift = out.rank() - in.rank();
  for (int i = 0; i < out.rank(); ++i) {
    const int j = i - shift;
    s[i] = (j >= 0 && in[j] != 1) ? own[j] : 0;
  }
  return s;
}

// Calls f(out_index, offset_a, offset_b) for every element of `out` in row-major order.
template <class F>
void for_each_broadcast(const Shape& out, const std::array<std::int64_t, max_rank>& sa,
                        const std::array<std::int64_t, max_rank>& sb, F&& f) {
  const std::int64_t n = out.numel();
  if (n == 0) return;
  std::array<std::int64_t, max_rank> idx{};
  std::int64_t oa = 0, ob = 0;
  const int r = out.rank();
  for (std::int64_t i = 0; i < n; ++i) {
    f(i, oa, ob);
    for (int d = r - 1; d >= 0; --d) {
      if (++idx[d] < out[d]) {
        oa += sa[d];
        ob += sb[d];
        break;
      }
      oa -= sa[d] * (out[d] - 1);
      ob -= sb[d] * (out[d] - 1);
      idx[d] = 0;
    }
  }
}

}  // namespace pixsyn::backend::eigen
