#pragma once
// Spatially aligned modulation (spec alis.md §2.1): every layer maps the three anchor latents (left,
// centre, right) to styles and interpolates them per column of the frame,
//   s = delta * W / g + j,  w_dist = D * W / 2,  t = ((s mod w_dist) + 1/2) / w_dist,
//   Gamma(s) = lerp(left, centre, t) for s < w_dist, lerp(centre, right, t) from there on,
// then scales x[c, row, column] by Gamma[c, column].
//
// Patch layout: pixsyn runs the whole ALIS network on the g patches of a frame as separate images,
// (B * g, C, H, W / g) with patch p of sample b at batch index b * g + p, because every 3x3 conv and
// upsampling is per patch (spec §3) and everything else is per column or per pixel. Only the final
// image is put back side by side. The frame's column p * W / g + j is column j of patch p.
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "pixsyn/autograd/functions/arithmetic.hpp"
#include "pixsyn/autograd/functions/layout.hpp"
#include "pixsyn/autograd/functions/math.hpp"
#include "pixsyn/autograd/functions/matmul.hpp"
#include "pixsyn/autograd/functions/permute.hpp"
#include "pixsyn/autograd/functions/reduce.hpp"
#include "pixsyn/backend/alis_geometry.hpp"
#include "pixsyn/backend/cuda/alis.hpp"
#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/core/tensor.hpp"
#include "pixsyn/ops/transfer.hpp"

namespace pixsyn::alis {

namespace detail {

using pixsyn::detail::on_device;
using pixsyn::detail::on_host;

// The numbers of a value: the tensor itself, or a Var's value.
template <class T, class D>
const Tensor<T, D>& value_of(const Tensor<T, D>& t) {
  return t;
}
template <class T, class D>
const Tensor<T, D>& value_of(const Var<T, D>& v) {
  return v.value();
}

}  // namespace detail

// Refuses a frame at left border delta that does not lie between the left and the right anchor:
// valid are 0 <= delta <= D * g - g (the frame ends at the right anchor at the latest).
inline void check_frame(const backend::AlisFrameGeometry& geometry, std::int64_t delta) {
  pixsyn::detail::check(delta >= 0 && geometry.left_anchor(geometry.strip_column(delta, geometry.size - 1)) <= 1,
                        "alis: a frame at left border ", delta, " lies outside the strip between the left and the ",
                        "right anchor (valid: 0 .. ", geometry.anchor_distance * geometry.patches - geometry.patches,
                        ")");
}

// The interpolation weights of every frame column: (B, width, 3), row (b, j) holding 1 - t and t at
// the two anchors around strip position delta[b] * width / patches + j (backend::AlisFrameGeometry).
// The GPU makes the same weights in one launch (backend/cuda/alis.hpp).
template <class T>
Tensor<T> anchor_weights(const std::vector<std::int64_t>& delta, std::int64_t width, int patches, int anchor_distance) {
  const backend::AlisFrameGeometry geometry{width, patches, anchor_distance};
  const std::int64_t batch = static_cast<std::int64_t>(delta.size());
  auto out = Tensor<T>::zeros({batch, width, 3});
  for (std::int64_t b = 0; b < batch; ++b) {
    check_frame(geometry, delta[b]);
    for (std::int64_t j = 0; j < width; ++j) {
      const std::int64_t s = geometry.strip_column(delta[b], j), a = geometry.left_anchor(s);
      const T t = geometry.right_weight<T>(s);
      T* row = out.data() + (b * width + j) * 3;
      row[a] = T(1) - t;
      row[a + 1] = t;
    }
  }
  return out;
}

// Gamma in patch layout: styles (B, 3, C) and weights (B, W, 3) on the styles' device -> (B * g, C, 1, W / g).
template <class V, class T, class D>
V interpolate_styles(const V& styles, const Tensor<T, D>& weights, int patches) {
  const std::int64_t batch = styles.dim(0), channels = styles.dim(2), width = weights.dim(1);
  if constexpr (std::is_same_v<V, Tensor<T, Cuda>>) {  // inference on the GPU: one launch
    auto out = Tensor<T, Cuda>::empty({batch * patches, channels, 1, width / patches});
    backend::cuda::alis_interpolate_styles(styles.data(), batch, channels, weights.data(), width, patches, out.data());
    return out;
  } else {
    const V gamma = matmul(as_constant<V>(weights), styles);  // (B, W, C)
    const V per_patch = reshape(gamma, Shape{batch * patches, width / patches, channels});
    return reshape(permute(per_patch, {0, 2, 1}), Shape{batch * patches, channels, 1, width / patches});
  }
}

// The mask (rows, channels) with 1 at the first entry of largest magnitude of every row of x (rows,
// channels), where x is (on the GPU by one launch, so that the forward never waits for it).
template <class T, class D>
Tensor<T, D> largest_magnitude_mask(const Tensor<T, D>& x) {
  const std::int64_t rows = x.dim(0), channels = x.dim(1);
  if constexpr (std::is_same_v<D, Cuda>) {
    auto mask = Tensor<T, D>::empty({rows, channels});
    backend::cuda::largest_magnitude_mask(x.data(), rows, channels, mask.data());
    return mask;
  } else {
    auto mask = Tensor<T, D>::zeros({rows, channels});
    for (std::int64_t r = 0; r < rows; ++r) {
      const T* row = x.data() + r * channels;
      std::int64_t best = 0;
      for (std::int64_t c = 1; c < channels; ++c)
        if (std::abs(row[c]) > std::abs(row[best])) best = c;
      mask.data()[r * channels + best] = T(1);
    }
    return mask;
  }
}

// The fp16 blocks' guard against overflow that the official forward includes (spec §2.3): each
// anchor's styles divided by their largest magnitude. The largest entry is picked by value and
// masked, so its derivative flows through that entry, as torch's infinity norm's does.
template <class V>
V normalize_styles(const V& styles) {
  const std::int64_t batch = styles.dim(0), channels = styles.dim(2);
  using T = typename V::value_type;
  if constexpr (std::is_same_v<V, Tensor<T, Cuda>>) {  // inference on the GPU: one launch, the same values
    auto out = Tensor<T, Cuda>::empty(styles.shape());
    backend::cuda::alis_normalize_styles(styles.data(), batch * 3, channels, out.data());
    return out;
  } else {
    const auto mask = largest_magnitude_mask(reshape(detail::value_of(styles), Shape{batch * 3, channels}));
    const V largest = sum(mul(abs(styles), as_constant<V>(reshape(mask, styles.shape()))), {2}, true);
    return div(styles, largest);
  }
}

}  // namespace pixsyn::alis
