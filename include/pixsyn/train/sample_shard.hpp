#pragma once
// A data-parallel rank's share of a step's batch (train::Trainer): rank r of W runs the samples r, r + W,
// r + 2W, ... of the batch one process runs, nn::SampleShard{r, W}, so that D's minibatch-stddev groups
// (strided) fall on one rank whole. Every rank draws the whole batch's random numbers and keeps its rows.
#include <cstdint>
#include <vector>

#include "pixsyn/core/error.hpp"
#include "pixsyn/nn/noise.hpp"
#include "pixsyn/ops/layout.hpp"
#include "pixsyn/ops/shape.hpp"

namespace pixsyn::train {

namespace detail {
inline void check_shard(std::int64_t n, nn::SampleShard shard) {
  pixsyn::detail::check(shard.offset < shard.stride && n % static_cast<std::int64_t>(shard.stride) == 0,
                        "shard_rows: samples ", shard.offset, ", ", shard.offset, " + ", shard.stride,
                        ", ... of a batch of ", n, " (the batch must split evenly over ", shard.stride, " ranks)");
}
}  // namespace detail

// Rows shard.offset, shard.offset + shard.stride, ... of `whole` (dim 0), whose rows split evenly into
// groups of shard.stride.
template <class U, class Dv>
Tensor<U, Dv> shard_rows(const Tensor<U, Dv>& whole, nn::SampleShard shard) {
  const auto stride = static_cast<std::int64_t>(shard.stride), n = whole.dim(0);
  detail::check_shard(n, shard);
  if (stride == 1) return whole;
  Shape rows = whole.shape();
  rows[0] = n / stride;
  const auto grouped = reshape(whole, Shape{n / stride, stride, whole.numel() / n});
  const auto offset = static_cast<std::int64_t>(shard.offset);
  return reshape(slice(grouped, 1, offset, offset + 1), rows);
}

// The same of a list of per-sample values.
template <class U>
std::vector<U> shard_rows(const std::vector<U>& whole, nn::SampleShard shard) {
  const auto stride = static_cast<std::int64_t>(shard.stride), n = static_cast<std::int64_t>(whole.size());
  detail::check_shard(n, shard);
  std::vector<U> out;
  for (auto i = static_cast<std::int64_t>(shard.offset); i < n; i += stride) out.push_back(whole[i]);
  return out;
}

}  // namespace pixsyn::train
