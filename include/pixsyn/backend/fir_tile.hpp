#pragma once
// The tiled upfirdn2d kernel's index arithmetic (src/cuda/upfirdn2d.cu), for StyleGAN2's resampling: a 4-tap
// filter, up or down by 2 or neither. A tile of `fir_tile` outputs along an axis reads a window of the input
// that the kernel stages in shared memory; tests/ops/test_upfirdn2d.cpp checks it against fir_source.
#include <cstdint>

#include "pixsyn/core/host_device.hpp"

namespace pixsyn::backend {

inline constexpr int fir_tile = 32;      // outputs of a tile along an axis
inline constexpr int fir_tile_taps = 4;  // filter taps along an axis

// floor(t / Up) for Up in {1, 2}: the input sample at or before position t of the upsampled signal.
template <int Up>
PIXSYN_HOST_DEVICE inline std::int32_t fir_floor_div(std::int32_t t) {
  static_assert(Up == 1 || Up == 2);
  return Up == 1 ? t : t >> 1;  // an arithmetic shift rounds towards -inf
}

// The staged window of an axis: a tile's outputs reach (fir_tile - 1) · Down + taps positions of the
// upsampled signal, which hold at most span / Up + 2 input samples (one more for where the span starts).
template <int Up, int Down>
inline constexpr int fir_tile_window = ((fir_tile - 1) * Down + fir_tile_taps - 1) / Up + 2;

// For a tile whose first output reads upsampled position t0 at tap 0 (first output · Down - pad0): the index in
// the window (which starts at input sample fir_floor_div<Up>(t0)) that output m of the tile reads at tap k, or
// -1 where that tap falls on an inserted zero.
template <int Up, int Down>
PIXSYN_HOST_DEVICE inline std::int32_t fir_tile_sample(std::int32_t t0, std::int32_t m, int k) {
  const std::int32_t t = t0 + m * Down + k;
  if (Up == 2 && (t & 1)) return -1;
  return fir_floor_div<Up>(t) - fir_floor_div<Up>(t0);
}

}  // namespace pixsyn::backend
