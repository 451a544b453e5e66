// Sums over axes. Small reductions take one thread per output; large ones one block per output
// (cub::BlockReduce). Both accumulate in double, like the CPU kernel, and never use atomics, so the
// result does not depend on scheduling.
#include <cub/block/block_reduce.cuh>

#include "common.cuh"
#include "pixsyn/backend/cuda/reduce.hpp"

namespace pixsyn::backend::cuda {

namespace {

__device__ __forceinline__ std::int64_t offset_of(std::int64_t i, int rank, const std::int64_t* extent,
                                                  const std::int64_t* stride) {
  std::int64_t off = 0;
  for (int d = rank - 1; d >= 0; --d) {
    off += (i % extent[d]) * stride[d];
    i /= extent[d];
  }
  return off;
}

template <class T>
__global__ void sum_per_thread_kernel(const T* in, T* out, ReduceGeometry g, T scale) {
  for (std::int64_t o = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; o < g.outputs;
       o += std::int64_t(blockDim.x) * gridDim.x) {
    const T* base = in + offset_of(o, g.kept_rank, g.kept_extent, g.kept_stride);
    double acc = 0;
    for (std::int64_t r = 0; r < g.count; ++r)
      acc += base[offset_of(r, g.reduced_rank, g.reduced_extent, g.reduced_stride)];
    out[o] = static_cast<T>(acc) * scale;
  }
}

template <class T>
__global__ void sum_per_block_kernel(const T* in, T* out, ReduceGeometry g, T scale) {
  using Reduce = cub::BlockReduce<double, block_size>;
  __shared__ typename Reduce::TempStorage temp;
  for (std::int64_t o = blockIdx.x; o < g.outputs; o += gridDim.x) {
    const T* base = in + offset_of(o, g.kept_rank, g.kept_extent, g.kept_stride);
    double acc = 0;
    for (std::int64_t r = threadIdx.x; r < g.count; r += block_size)
      acc += base[offset_of(r, g.reduced_rank, g.reduced_extent, g.reduced_stride)];
    const double total = Reduce(temp).Sum(acc);
    if (threadIdx.x == 0) out[o] = static_cast<T>(total) * scale;
    __syncthreads();  // temp is reused by the next output
  }
}

}  // namespace

template <class T>
void sum(const T* in, T* out, const ReduceGeometry& g, T scale) {
  if (g.outputs == 0) return;
  const bool per_block = g.count > 256 || (g.outputs < 4096 && g.count > 16);
  if (per_block) {
    const auto blocks = static_cast<unsigned>(g.outputs < 65536 ? g.outputs : 65536);
    sum_per_block_kernel<<<blocks, block_size, 0, stream()>>>(in, out, g, scale);
  } else {
    sum_per_thread_kernel<<<grid_for(g.outputs), block_size, 0, stream()>>>(in, out, g, scale);
  }
  check_launch("sum");
}

template void sum<float>(const float*, float*, const ReduceGeometry&, float);
template void sum<double>(const double*, double*, const ReduceGeometry&, double);

}  // namespace pixsyn::backend::cuda
