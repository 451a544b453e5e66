#pragma once
// What bench_train_gpu's translation units share (one per family, compiled side by side): the kinds of
// training iteration, their timing, and the average over the official cycle of 16 iterations.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include <cuda_profiler_api.h>

#include "gpu_timing.hpp"
#include "pixsyn/core/error.hpp"

namespace pixsyn::bench {

// Which regularisers an iteration runs: rosinality's loop (CIPS) has R1 only; the StyleGAN2-ADA loop (CREPS,
// ALIS) has the path length every 4 and R1 every 16, so its iteration 0 of a cycle runs both.
enum class IterationKind { plain, path_length, r1 };

struct TrainTiming {
  double plain_ms = 0, r1_ms = 0, peak_mib = 0;
  double path_length_ms = std::numeric_limits<double>::quiet_NaN();  // NaN: the loop has no path length
  std::string error;

  bool has_path_length() const { return path_length_ms == path_length_ms; }
  // The average over the official cycle of 16 iterations: CIPS (15 plain + 1 with R1) / 16; StyleGAN2-ADA
  // (12 plain + 3 with the path length + 1 with both) / 16.
  double cycle_ms() const {
    return has_path_length() ? (12 * plain_ms + 3 * path_length_ms + r1_ms) / 16 : (15 * plain_ms + r1_ms) / 16;
  }
};

// bench_train_gpu --profile: each row runs 3 warm plain iterations, then one between cudaProfilerStart/Stop
// (for `ncu --profile-from-start off`), and is not timed.
inline bool profile_one_iteration = false;

// iteration(IterationKind) runs one training iteration of that kind. Plain iterations: the median of
// `repeats` after 3 warm-ups; the regularised ones: of max(3, repeats / 4) after one. Peak: the memory pool's
// high-water mark over all of them.
template <class Iteration>
TrainTiming time_iterations(Iteration&& iteration, bool path_length, int repeats) {
  TrainTiming t;
  const auto time = [&](IterationKind kind, int n, int warmup) {
    const auto r = time_gpu([&] { iteration(kind); }, n, warmup);
    t.peak_mib = std::max(t.peak_mib, r.peak_mib);
    return r.median_ms;
  };
  try {
    if (profile_one_iteration) {
      for (int i = 0; i < 3; ++i) iteration(IterationKind::plain);
      check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
      check(cudaProfilerStart(), "cudaProfilerStart");
      iteration(IterationKind::plain);
      check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
      check(cudaProfilerStop(), "cudaProfilerStop");
      return t;
    }
    t.plain_ms = time(IterationKind::plain, repeats, 3);
    if (path_length) t.path_length_ms = time(IterationKind::path_length, std::max(3, repeats / 4), 1);
    t.r1_ms = time(IterationKind::r1, std::max(3, repeats / 4), 1);
  } catch (const Error& e) {
    t.error = e.what();
  }
  return t;
}

// alis::Official<256> with the StyleGAN2-ADA D of ALIS (train_gpu_alis.cpp).
TrainTiming measure_alis(std::int64_t batch, int repeats);
// creps::Official<256> with the StyleGAN2-ADA D of CREPS (train_gpu_creps.cpp).
TrainTiming measure_creps(std::int64_t batch, int repeats);

}  // namespace pixsyn::bench
