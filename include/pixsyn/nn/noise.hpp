#pragma once
// Per-pixel noise for StyledConv layers. CIPS draws a fresh N(0,1) map per layer in every forward;
// pixsyn makes the choice explicit: no noise, seeded noise (a function of the seed, the layer, the
// sample and the pixel's global index, so tiles of a render see the same noise as the whole), or noise
// maps given by the caller (to compare with the official code). Generators on the GPU (training) draw
// the same seeded numbers there.
#include <cstdint>
#include <type_traits>
#include <vector>

#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::nn {

enum class NoiseMode { off, seeded, given };

// Which samples of a larger batch this thread draws seeded noise for: local sample b is sample
// offset + stride · b of the whole batch. Data-parallel training (train/trainer.hpp) sets it, so that the
// ranks' shards of one step see the noise that one process drawing the whole batch would (NoiseSource
// below, and ALIS's alis::Frames::seeded_noise).
struct SampleShard {
  std::uint64_t offset = 0, stride = 1;
};

inline SampleShard& current_sample_shard() {
  thread_local SampleShard shard;
  return shard;
}

// While in scope, this thread's seeded noise is drawn for `shard` (an RAII, thread-local guard like no_grad).
class ShardedNoise {
 public:
  explicit ShardedNoise(SampleShard shard) : saved_(current_sample_shard()) { current_sample_shard() = shard; }
  ~ShardedNoise() { current_sample_shard() = saved_; }
  ShardedNoise(const ShardedNoise&) = delete;
  ShardedNoise& operator=(const ShardedNoise&) = delete;

 private:
  SampleShard saved_;
};

template <class T, class D = Cpu>
struct NoiseSource {
  NoiseMode mode = NoiseMode::off;
  std::uint64_t seed = 0;
  // given: one map (B, N) per StyledConv in forward order, over all N points of the full render.
  std::vector<Tensor<T, D>> maps;
  // The global indices (P,) of the points being rendered now; undefined means 0 .. P-1.
  Tensor<std::int64_t> points;

  // The noise (B, P, 1) of layer `layer` for a batch of B samples at P points; undefined when off.
  Tensor<T, D> draw(int layer, std::int64_t batch, std::int64_t count) const {
    if (mode == NoiseMode::off) return {};
    pixsyn::detail::check(!points.defined() || points.numel() == count, "noise: ", points.numel(),
                          " point indices given for ", count, " points");
    if constexpr (std::is_same_v<D, Cpu>)
      return draw_on_host(layer, batch, count);
    else
      return draw_on_device(layer, batch, count);
  }

 private:
  // Disjoint Philox block ranges per (layer, sample): 2^40 blocks hold 2^41 pixels.
  static constexpr std::uint64_t sample_step = std::uint64_t(1) << 40;
  static std::uint64_t stream_offset(int layer) { return static_cast<std::uint64_t>(layer) << 56; }

  Tensor<T, D> draw_on_host(int layer, std::int64_t batch, std::int64_t count) const {
    auto index = [&](std::int64_t p) { return points.defined() ? points.data()[p] : p; };
    auto out = Tensor<T, D>::empty({batch, count, 1});
    if (mode == NoiseMode::seeded) {
      const SampleShard shard = current_sample_shard();
      for (std::int64_t b = 0; b < batch; ++b) {
        const std::uint64_t offset =
            stream_offset(layer) + (shard.offset + shard.stride * static_cast<std::uint64_t>(b)) * sample_step;
        for (std::int64_t p = 0; p < count; ++p)
          out.data()[b * count + p] =
              static_cast<T>(pixsyn::detail::philox_normal(seed, offset, static_cast<std::uint64_t>(index(p))));
      }
      return out;
    }
    pixsyn::detail::check(layer < static_cast<int>(maps.size()), "noise: no map given for layer ", layer, " (",
                          maps.size(), " maps given)");
    const Tensor<T, D>& map = maps[layer];
    pixsyn::detail::check(map.rank() == 2 && map.dim(0) == batch, "noise: map ", layer, " has shape ", map.shape(),
                          "; expected (", batch, ", points)");
    for (std::int64_t b = 0; b < batch; ++b)
      for (std::int64_t p = 0; p < count; ++p) {
        const std::int64_t q = index(p);
        pixsyn::detail::check(q >= 0 && q < map.dim(1), "noise: point index ", q, " is outside map ", layer,
                              " of shape ", map.shape());
        out.data()[b * count + p] = map.data()[b * map.dim(1) + q];
      }
    return out;
  }

  // On the GPU: seeded noise drawn there (the CPU's numbers, one launch per layer) at the points 0 .. P-1,
  // or given maps (B, P) that already live there. Point subsets (tiles) are the CPU's and render::CudaCips'.
  Tensor<T, D> draw_on_device(int layer, std::int64_t batch, std::int64_t count) const {
    pixsyn::detail::check(!points.defined(), "noise: on ", D::name,
                          " noise is drawn at all points 0 .. P-1 only, not at given point indices");
    if (mode == NoiseMode::seeded) {
      auto out = Tensor<T, D>::empty({batch, count, 1});
      const SampleShard shard = current_sample_shard();
      backend::cuda::random_normal_rows(out.data(), batch, count, seed,
                                        stream_offset(layer) + shard.offset * sample_step, shard.stride * sample_step);
      return out;
    }
    pixsyn::detail::check(layer < static_cast<int>(maps.size()), "noise: no map given for layer ", layer, " (",
                          maps.size(), " maps given)");
    const Tensor<T, D>& map = maps[layer];
    pixsyn::detail::check(map.rank() == 2 && map.dim(0) == batch && map.dim(1) == count, "noise: map ", layer,
                          " has shape ", map.shape(), "; expected (", batch, ", ", count, ")");
    return map.reshape({batch, count, 1});
  }
};

}  // namespace pixsyn::nn
