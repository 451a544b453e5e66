#pragma once
// CIPS's patch training data (cips.md §8; the official MultiScaleDataset and train.py): from real images at the
// full training size R, P x P patches at one scale for the whole batch, the stride n = 2^k with k uniform in
// 0 .. log2(R / P), and with them the coordinates of their pixels on the full R x R grid, at which G renders
// the matching fake patches (the learned embedding then sampled bilinearly, as the official does for any grid
// but the full one). Per sample, as the official draws them:
//   k = 0: a random P x P crop;
//   k > 0: every n-th pixel from a random offset (row, column) in [0, R - nP + n), then a random P x P crop
//          of that strided image.
// So patch pixel (a, b) is image pixel (r0 + n a, c0 + n b), and its coordinates are the official grid's
// (x = linspace(-1, 1, R)[column], y = linspace(-1, 1, R)[row]).
#include <cstdint>

#include "pixsyn/coords/grid.hpp"
#include "pixsyn/core/error.hpp"
#include "pixsyn/core/philox.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::train {

template <class T>
struct PatchBatch {
  Tensor<T> images;  // (B, C, P, P)
  Tensor<T> xy;      // (B, P * P, 2): (x, y) of every patch pixel, row-major: the points G renders
  int stride = 1;    // n = 2^k
};

// The number of scales of patch training at size R and patch P: log2(R / P) + 1.
inline int patch_scales(std::int64_t size, std::int64_t patch) {
  pixsyn::detail::check(patch > 0 && size >= patch && size % patch == 0 && ((size / patch) & (size / patch - 1)) == 0,
                        "patch training: the patch size ", patch, " must divide the image size ", size,
                        " by a power of two");
  int scales = 1;
  while ((patch << (scales - 1)) < size) ++scales;
  return scales;
}

// images (B, C, R, R) -> patches of side `patch`; every random number from gen.
template <class T>
PatchBatch<T> multiscale_patches(const Tensor<T>& images, std::int64_t patch, Philox& gen) {
  pixsyn::detail::check(images.rank() == 4 && images.dim(2) == images.dim(3) && images.dim(0) > 0,
                        "multiscale_patches: images have shape ", images.shape(), "; expected (B, C, R, R)");
  const std::int64_t batch = images.dim(0), channels = images.dim(1), size = images.dim(2);
  const int scales = patch_scales(size, patch);
  const auto u = Tensor<double>::rand({1 + 4 * batch}, gen);
  const auto pick = [&](std::int64_t i, std::int64_t n) {  // uniform in [0, n)
    return std::min(static_cast<std::int64_t>(u.data()[i] * static_cast<double>(n)), n - 1);
  };
  const int k = static_cast<int>(pick(0, scales));
  const std::int64_t n = std::int64_t(1) << k;
  const auto axis = coords::linspace<T>(T(-1), T(1), size);
  PatchBatch<T> out{Tensor<T>::empty({batch, channels, patch, patch}), Tensor<T>::empty({batch, patch * patch, 2}),
                    static_cast<int>(n)};
  for (std::int64_t b = 0; b < batch; ++b) {
    const double* v = u.data() + 1 + 4 * b;
    std::int64_t r0 = 0, c0 = 0;
    if (k > 0) {
      const std::int64_t bias = size - n * patch + n;
      r0 = pick(1 + 4 * b, bias);
      c0 = pick(2 + 4 * b, bias);
    }
    // The strided image holds ceil((R - offset) / n) >= P rows (columns); a P-crop of it starts at 0 .. that - P.
    const std::int64_t rows = (size - r0 + n - 1) / n, cols = (size - c0 + n - 1) / n;
    r0 += n * std::min(static_cast<std::int64_t>(v[2] * static_cast<double>(rows - patch + 1)), rows - patch);
    c0 += n * std::min(static_cast<std::int64_t>(v[3] * static_cast<double>(cols - patch + 1)), cols - patch);
    for (std::int64_t c = 0; c < channels; ++c)
      for (std::int64_t a = 0; a < patch; ++a)
        for (std::int64_t j = 0; j < patch; ++j)
          out.images.data()[((b * channels + c) * patch + a) * patch + j] =
              images.data()[((b * channels + c) * size + r0 + n * a) * size + c0 + n * j];
    for (std::int64_t a = 0; a < patch; ++a)
      for (std::int64_t j = 0; j < patch; ++j) {
        T* p = out.xy.data() + ((b * patch + a) * patch + j) * 2;
        p[0] = axis.data()[c0 + n * j];
        p[1] = axis.data()[r0 + n * a];
      }
  }
  return out;
}

}  // namespace pixsyn::train
