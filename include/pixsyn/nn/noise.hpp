#pragma once
// Per-pixel noise for StyledConv layers. CIPS draws a fresh N(0,1) map per layer in every forward;
// pixsyn makes the choice explicit: no noise, seeded noise (a function of the seed, the layer, the
// sample and the pixel's global index, so tiles of a render see the same noise as the whole), or noise
// maps given by the caller (to compare with the official code).
#include <cstdint>
#include <type_traits>
#include <vector>

#include "pixsyn/core/tensor.hpp"

namespace pixsyn::nn {

enum class NoiseMode { off, seeded, given };

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
    // The maps are filled on the host; GPU renders draw the same noise in render::CudaCips.
    pixsyn::detail::check(std::is_same_v<D, Cpu>, "noise: seeded or given noise is drawn on the CPU only; on ", D::name,
                          " render with render::CudaCips or NoiseMode::off");
    pixsyn::detail::check(!points.defined() || points.numel() == count, "noise: ", points.numel(),
                          " point indices given for ", count, " points");
    auto index = [&](std::int64_t p) { return points.defined() ? points.data()[p] : p; };
    auto out = Tensor<T, D>::empty({batch, count, 1});
    if (mode == NoiseMode::seeded) {
      for (std::int64_t b = 0; b < batch; ++b) {
        // Disjoint Philox block ranges per (layer, sample): 2^40 blocks hold 2^41 pixels.
        const std::uint64_t offset = (static_cast<std::uint64_t>(layer) << 56) | (static_cast<std::uint64_t>(b) << 40);
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
};

}  // namespace pixsyn::nn
