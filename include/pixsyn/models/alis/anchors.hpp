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
#include <cstdint>
#include <vector>

#include "pixsyn/autograd/functions/layout.hpp"
#include "pixsyn/autograd/functions/math.hpp"
#include "pixsyn/autograd/functions/matmul.hpp"
#include "pixsyn/autograd/functions/permute.hpp"
#include "pixsyn/autograd/functions/reduce.hpp"
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

// The interpolation weights of every frame column: (B, width, 3), row (b, j) holding 1 - t and t at
// the two anchors around strip position delta[b] * width / patches + j. A left border is valid when
// the frame ends at the right anchor at the latest: 0 <= delta <= D * g - g.
template <class T>
Tensor<T> anchor_weights(const std::vector<std::int64_t>& delta, std::int64_t width, int patches, int anchor_distance) {
  const std::int64_t w_dist = anchor_distance * width / 2, batch = static_cast<std::int64_t>(delta.size());
  auto out = Tensor<T>::zeros({batch, width, 3});
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t j = 0; j < width; ++j) {
      const std::int64_t s = delta[b] * (width / patches) + j, a = s / w_dist;
      pixsyn::detail::check(s >= 0 && a <= 1, "alis::anchor_weights: column ", j, " of a frame at left border ",
                            delta[b], " lies outside the strip between the left and the right anchor");
      const T t = static_cast<T>((static_cast<double>(s % w_dist) + 0.5) / static_cast<double>(w_dist));
      T* row = out.data() + (b * width + j) * 3;
      row[a] = T(1) - t;
      row[a + 1] = t;
    }
  return out;
}

// Gamma in patch layout: styles (B, 3, C) and weights (B, W, 3) -> (B * g, C, 1, W / g).
template <class V, class T>
V interpolate_styles(const V& styles, const Tensor<T>& weights, int patches) {
  const std::int64_t batch = styles.dim(0), channels = styles.dim(2), width = weights.dim(1);
  const V gamma = matmul(as_constant<V>(detail::on_device<typename V::device_type>(weights)), styles);  // (B, W, C)
  const V per_patch = reshape(gamma, Shape{batch * patches, width / patches, channels});
  return reshape(permute(per_patch, {0, 2, 1}), Shape{batch * patches, channels, 1, width / patches});
}

// The fp16 blocks' guard against overflow that the official forward includes (spec §2.3): each
// anchor's styles divided by their largest magnitude. The largest entry is picked by value and
// gathered, so its derivative flows through that entry, as torch's infinity norm's does.
template <class V>
V normalize_styles(const V& styles) {
  using T = typename V::value_type;
  const std::int64_t rows = styles.dim(0) * styles.dim(1), channels = styles.dim(2);
  const Tensor<T> values = detail::on_host(detail::value_of(styles));
  auto index = Tensor<std::int64_t>::empty({rows});
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* row = values.data() + r * channels;
    std::int64_t best = 0;
    for (std::int64_t c = 1; c < channels; ++c)
      if (std::abs(row[c]) > std::abs(row[best])) best = c;
    index.data()[r] = r * channels + best;
  }
  const V largest = abs(index_select(reshape(styles, Shape{rows * channels}), 0, index));
  return div(styles, reshape(largest, Shape{styles.dim(0), styles.dim(1), 1}));
}

}  // namespace pixsyn::alis
