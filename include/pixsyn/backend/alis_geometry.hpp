#pragma once
// The per-column and per-pixel inputs of an ALIS layer (spec alis.md §1.5, §1.6, §2.1) as functions of
// one element, shared by the CPU code (models/alis/) and the CUDA kernels (src/cuda/alis.cu), so that
// both devices compute them with the same operations in the same order: coordinates and interpolation
// weights equal bit for bit up to sin/cos, noise bit for bit.
//
// A layer of side `size` renders frames of `patches` patches of size / patches columns; the frame at
// left border delta (in patches) shows strip columns delta * size / patches + j, j < size, of the strip
// of D * g patches from the left anchor (strip column 0) to the right one.
#include <cstdint>
#include <type_traits>

#include "pixsyn/core/host_device.hpp"

namespace pixsyn::backend {

// a * b rounded on its own: nvcc would contract a * b + c into one fused multiply-add (one rounding)
// where the CPU code rounds twice, and the coordinates (|raw| up to ~10^3) would differ by an ulp of raw.
template <class T>
PIXSYN_HOST_DEVICE inline T product(T a, T b) {
#if defined(__CUDA_ARCH__)
  if constexpr (std::is_same_v<T, float>)
    return __fmul_rn(a, b);
  else
    return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

struct AlisFrameGeometry {
  std::int64_t size = 0;  // the layer's side: size rows, size columns per frame
  std::int64_t patches = 2;
  std::int64_t anchor_distance = 4;  // D

  PIXSYN_HOST_DEVICE std::int64_t patch_width() const { return size / patches; }
  // Strip columns between two anchors (official w_dist).
  PIXSYN_HOST_DEVICE std::int64_t anchor_spacing() const { return anchor_distance * size / 2; }
  // The strip column of frame column j of the frame at left border delta.
  PIXSYN_HOST_DEVICE std::int64_t strip_column(std::int64_t delta, std::int64_t j) const {
    return delta * patch_width() + j;
  }

  // The coordinates of frame column j at left border delta and of row i (official
  // generate_shifted_coords): x = 2 j / size - 1 + ((delta * size / g - w_dist) / w_dist) * D + 1, and
  // y = 2 (size - 1 - i) / size - 1, in T with the official order of operations. x is relative to the
  // anchors (-D at the left one, +D at the right one), so every strip of a panorama sees the same values.
  template <class T>
  PIXSYN_HOST_DEVICE T x(std::int64_t delta, std::int64_t j) const {
    const std::int64_t w_dist = anchor_spacing();
    const T rel = static_cast<T>(delta * patch_width() - w_dist) / static_cast<T>(w_dist);
    const T shift = product(rel, static_cast<T>(anchor_distance)) + T(1);
    return product(static_cast<T>(j) / static_cast<T>(size), T(2)) - T(1) + shift;
  }
  template <class T>
  PIXSYN_HOST_DEVICE T y(std::int64_t i) const {
    return product(static_cast<T>(size - 1 - i) / static_cast<T>(size), T(2)) - T(1);
  }

  // The interpolation between the anchors around strip column s: the left one is anchor s / w_dist
  // (0: left, 1: centre), the right one has the weight t = ((s mod w_dist) + 1/2) / w_dist.
  PIXSYN_HOST_DEVICE std::int64_t left_anchor(std::int64_t s) const { return s / anchor_spacing(); }
  template <class T>
  PIXSYN_HOST_DEVICE T right_weight(std::int64_t s) const {
    const std::int64_t w_dist = anchor_spacing();
    return static_cast<T>((static_cast<double>(s % w_dist) + 0.5) / static_cast<double>(w_dist));
  }

  // Seeded noise: the number of pixel (i, j) of the frame at left border delta in the Philox stream of
  // its (layer, sample) (alis_noise_offset): its strip column, continuing over strips of D * size
  // columns, times size plus its row; so adjacent frames and strips continue each other.
  PIXSYN_HOST_DEVICE std::uint64_t noise_number(std::int64_t strip, std::int64_t delta, std::int64_t i,
                                                std::int64_t j) const {
    const std::int64_t column = strip * anchor_distance * size + strip_column(delta, j);
    return static_cast<std::uint64_t>(column * size + i);
  }
};

// Disjoint Philox block ranges per (layer, sample) of ALIS's seeded noise. `sample` is the sample's index in
// the whole batch (first_sample + sample_stride * b for local sample b of a data-parallel rank's shard), so
// ranks draw the noise one process drawing the whole batch would; below max_noise_samples.
inline constexpr std::uint64_t max_noise_samples = std::uint64_t(1) << 16;
PIXSYN_HOST_DEVICE inline std::uint64_t alis_noise_offset(std::uint64_t layer, std::uint64_t sample) {
  return (layer << 56) | (sample << 40);
}

// The coordinate value raw_k = basis_k0 x + basis_k1 y of basis row (f0, f1), whose sine and cosine
// are the coordinate channels k and m + k.
template <class T>
PIXSYN_HOST_DEVICE T coordinate_phase(T f0, T f1, T x, T y) {
  return product(f0, x) + product(f1, y);
}

}  // namespace pixsyn::backend
