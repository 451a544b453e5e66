#pragma once
// Timing for the GPU benchmarks: the median of CUDA-event timings of a call on pixsyn's stream after a
// warm-up (workspace, graph capture, clocks), and the memory pool's high-water mark meanwhile.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "pixsyn/backend/cuda/fast_render.hpp"
#include "pixsyn/backend/cuda/runtime.hpp"

namespace pixsyn::bench {

inline void check(cudaError_t err, const char* call) {
  if (err != cudaSuccess) {
    std::fprintf(stderr, "%s: %s\n", call, cudaGetErrorString(err));
    std::exit(1);
  }
}

struct GpuTiming {
  double median_ms, peak_mib, extra_mib;  // peak: everything pixsyn holds; extra: added during the calls
};

template <class Call>
GpuTiming time_gpu(Call&& call, int repeats, int warmup = 3) {
  auto stream = static_cast<cudaStream_t>(backend::cuda::Context::instance().stream());
  backend::cuda::synchronize();
  const std::size_t before = backend::cuda::pool_used_bytes();
  backend::cuda::reset_pool_peak();
  for (int i = 0; i < warmup; ++i) call();
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    check(cudaEventRecord(start, stream), "cudaEventRecord");
    call();
    check(cudaEventRecord(stop, stream), "cudaEventRecord");
    check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float t = 0;
    check(cudaEventElapsedTime(&t, start, stop), "cudaEventElapsedTime");
    ms.push_back(t);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  const double peak = static_cast<double>(backend::cuda::pool_peak_bytes());
  return {ms[ms.size() / 2], peak / (1 << 20), (peak - static_cast<double>(before)) / (1 << 20)};
}

}  // namespace pixsyn::bench
