#pragma once
// Sample grids of a training run (pixsyn train --sample-every): G_ema on the same latents throughout a
// run, so that the grids of successive steps show how the same samples change.
#include <cstdint>
#include <filesystem>

#include "pixsyn/core/philox.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::cli {

// The Philox stream of a run's grids, of the run's seed alone: the families that draw their own latents
// (alis, creps: three anchors, left borders) draw them from it.
Philox sample_stream(std::uint64_t run_seed);

// The latents of a run's grids: (count, z_dim), N(0, 1) from sample_stream.
Tensor<float> sample_latents(std::uint64_t run_seed, std::int64_t count, std::int64_t z_dim);

// The seed of the generator's noise in a run's grids (fixed per run, as the latents).
std::uint64_t sample_noise_seed(std::uint64_t run_seed);

// Writes images (B, 3, S, S) in [-1, 1] as RUN_DIR/samples/step-<step>.png, a grid of about sqrt(B)
// columns, atomically; returns its path.
std::filesystem::path write_sample_grid(const std::filesystem::path& run_dir, std::int64_t step,
                                        const Tensor<float>& images);

}  // namespace pixsyn::cli
