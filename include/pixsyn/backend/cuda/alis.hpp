#pragma once
// ALIS's per-call layer inputs made on the GPU (src/cuda/alis.cu) with the CPU's formulas
// (backend/alis_geometry.hpp): the coordinate channels, the anchor interpolation weights and the seeded
// noise, each one launch, from the frames' left borders `delta` (batch entries, device memory); and the
// mask of the style normalisation, so that a forward never waits for the GPU. The CPU code makes the
// same tensors on the host (models/alis/). Inference fusions: the coordinate fuser's modulated channels, the
// demodulated weights.
#include <cstdint>

#include "pixsyn/backend/alis_geometry.hpp"
#include "pixsyn/backend/cuda/bias_leaky_relu.hpp"
#include "pixsyn/backend/cuda/runtime.hpp"

namespace pixsyn::backend::cuda {

// out (batch * g, 2m, size, size / g) in patch layout: channel k < m is sin(raw_k), channel m + k is
// cos(raw_k), raw_k = coordinate_phase(basis[k, 0], basis[k, 1], x, y); basis (m, 2).
template <class T>
void alis_coordinates(const T* basis, std::int64_t rows, const std::int64_t* delta, std::int64_t batch,
                      const AlisFrameGeometry& geometry, T* out);
// A coordinate fuser's output already modulated for the next convolution, in one pass (inference):
// out (batch * g, C + 2m, size, size / g) = concat(act(x) (batch * g, C, size, size / g), the coordinate
// channels above) * scale (batch * g, C + 2m, 1, size / g), each entry the value the unfused ops form; act is
// the previous layer's bias_leaky_relu (x_activation.bias set) or none.
template <class T>
void alis_modulated_coordinates(const T* x, const BiasLeakyRelu<T>& x_activation, std::int64_t channels, const T* basis,
                                std::int64_t rows, const std::int64_t* delta, std::int64_t batch,
                                const AlisFrameGeometry& geometry, const T* scale, T* out);
// out = w (O, I, taps) times 1 / sqrt(Σ_{i, tap} w[o, i, tap]² + eps) per output channel o (the layers' fixed
// demodulation, inference), in w's layout or transposed to (I, O, taps); one launch (a block per channel).
template <class T>
void alis_demodulated_weight(const T* w, std::int64_t out_channels, std::int64_t in_channels, std::int64_t taps, T eps,
                             bool transposed, T* out);
// out (batch · g, C, 1, width / g) = the styles (batch, 3, C) interpolated with weights (batch, width, 3) for
// every column, in patch layout (alis::interpolate_styles in one launch, inference).
template <class T>
void alis_interpolate_styles(const T* styles, std::int64_t batch, std::int64_t channels, const T* weights,
                             std::int64_t width, std::int64_t patches, T* out);
// out (batch, size, 3): the weights of the left, centre and right anchor for every frame column.
template <class T>
void alis_anchor_weights(const std::int64_t* delta, std::int64_t batch, const AlisFrameGeometry& geometry, T* out);
// out (batch * g, 1, size, size / g) in patch layout: the seeded N(0, 1) noise of convolution `layer`
// on strip *strip (device memory, like delta: a replayed graph reads the frame's; geometry.noise_number,
// alis_noise_offset), local sample b being sample first_sample + sample_stride * b of the whole batch.
template <class T>
void alis_seeded_noise(const std::int64_t* delta, std::int64_t batch, const AlisFrameGeometry& geometry,
                       std::uint64_t seed, std::uint64_t layer, const std::int64_t* strip, std::uint64_t first_sample,
                       std::uint64_t sample_stride, T* out);

// mask (rows, channels): 1 at the first entry of largest magnitude of every row of x, 0 elsewhere.
template <class T>
void largest_magnitude_mask(const T* x, std::int64_t rows, std::int64_t channels, T* mask);
// out (rows, channels) = every row of x divided by the magnitude of that entry (sum(abs(x) · mask) of the
// mask above): the style normalisation in one launch (inference), equal to the unfused ops bit for bit.
template <class T>
void alis_normalize_styles(const T* x, std::int64_t rows, std::int64_t channels, T* out);

}  // namespace pixsyn::backend::cuda
