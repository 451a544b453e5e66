#pragma once
// StyleGAN2's minibatch standard deviation layer, as a template over the value type (Tensor or, with
// autograd/functions/minibatch_stddev.hpp, Var), made of reshapes, means and elementwise ops.
//
//   minibatch_stddev(x, group_size, channels)
//       x (N, C, H, W) -> (N, C + channels, H, W). G = min(group_size, N) must divide N; sample i belongs to
//       group slot i mod (N / G) (the groups are strided, as the official reshape(G, -1, ...) makes them).
//       The C channels split into `channels` consecutive sets; for each slot and set: the standard
//       deviation over the group (biased variance + 1e-8, square root) of every channel and pixel, averaged
//       over the set's channels and the pixels. The result is appended as `channels` constant planes to
//       every sample of the slot. SG2-ADA's MinibatchStdLayer and rosinality's stddev layer alike.
#include <cstdint>
#include <vector>

#include "pixsyn/core/tensor.hpp"
#include "pixsyn/ops/arithmetic.hpp"
#include "pixsyn/ops/layout.hpp"
#include "pixsyn/ops/math.hpp"
#include "pixsyn/ops/reduce.hpp"
#include "pixsyn/ops/shape.hpp"

namespace pixsyn {

template <class V>
V minibatch_stddev(const V& x, std::int64_t group_size, std::int64_t channels = 1) {
  using T = typename V::value_type;
  detail::check(x.rank() == 4, "minibatch_stddev: x must be (N, C, H, W), got ", x.shape());
  const std::int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  detail::check(group_size >= 1 && n >= 1, "minibatch_stddev: group size ", group_size, " and batch ", n,
                " must be at least 1");
  const std::int64_t g = group_size < n ? group_size : n;
  detail::check(n % g == 0, "minibatch_stddev: the batch of ", n, " does not split into groups of ", g);
  detail::check(channels >= 1 && c % channels == 0, "minibatch_stddev: ", c, " channels do not split into ", channels,
                " sets");
  const std::int64_t slots = n / g;
  V y = reshape(x, Shape{g, slots * channels, c / channels, h, w});
  y = sub(y, mean(y, {0}, true));
  y = sqrt(add(mean(square(y), {0}), T(1e-8)));  // (slots · channels, c / channels, H, W)
  y = reshape(mean(y, {1, 2, 3}), Shape{1, slots, channels, 1, 1});
  y = reshape(broadcast_to(y, Shape{g, slots, channels, h, w}), Shape{n, channels, h, w});
  return concat(std::vector<V>{x, y}, 1);
}

}  // namespace pixsyn
