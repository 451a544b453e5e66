// Sums over axes, accumulated in double like the CPU kernel and without atomics: how a reduction is split
// depends on its sizes only, so the result never depends on scheduling. The kept and the reduced axes are
// collapsed and walked with 32-bit index math where it fits (strided_index.cuh). Three layouts of the work:
//   - few inputs per output: one thread per output;
//   - outputs contiguous in memory (a sum over the rows of (rows, C)): tiles of 32 neighbouring outputs by 8
//     lanes, so that a warp reads 32 neighbouring floats;
//   - else one block per output, its threads striding over the reduced axes (coalesced when the innermost
//     reduced axis is contiguous: rows, per-channel bias gradients of NCHW).
// Where that gives too few blocks to fill the GPU (a sum with few outputs runs on a handful of SMs), each
// output's inputs are cut into parts: the blocks write partial sums (double) to a workspace, and a second
// pass adds each output's parts in order.
#include <algorithm>
#include <cub/block/block_reduce.cuh>
#include <memory>

#include "common.cuh"
#include "pixsyn/backend/cuda/reduce.hpp"
#include "strided_index.cuh"

namespace pixsyn::backend::cuda {

namespace {

// Blocks worth launching: about one full wave on an H200 (132 SMs, 8 resident blocks of 256 threads each).
constexpr std::int64_t target_blocks = 1024;
// Inputs a block reads at least before a reduction is cut into more parts: 16 per thread.
constexpr std::int64_t min_block_inputs = 16 * block_size;
// The tiles of outputs contiguous in memory: 32 outputs (a warp) by 8 lanes over the reduced axes.
constexpr int tile_outputs = 32, tile_lanes = block_size / tile_outputs;

// Output o sums the input at kept.offset(o) + reduced.offset(i) for i < count. Part p of it covers
// i in [p chunk, min(count, (p + 1) chunk)).
template <class Index>
struct Reduction {
  StridedWalk<Index, 1> kept, reduced;
  Index outputs, count, parts, chunk;
};

// Part p of output o's sum: the output itself (times scale) when it is the only part, else a partial sum.
template <class T, class Index>
__device__ __forceinline__ void store(T* out, double* partial, const Reduction<Index>& r, Index o, Index p,
                                      double total, T scale) {
  if (r.parts == 1)
    out[o] = static_cast<T>(total) * scale;
  else
    partial[o * r.parts + p] = total;
}

// base[walk.offset(i)] for i = first, first + step, ... < end added to acc in that order, loading `unrolled`
// inputs before adding them: a load's latency is then paid once per `unrolled` inputs, not per input (the
// additions wait for their loads), and the sum stays the same bits.
template <class T, class Index>
__device__ __forceinline__ double add_inputs(double acc, const T* base, const StridedWalk<Index, 1>& walk, Index first,
                                             Index end, Index step) {
  constexpr int unrolled = 8;
  Index i = first;
  for (; i + (unrolled - 1) * step < end; i += unrolled * step) {
    T x[unrolled];
#pragma unroll
    for (int u = 0; u < unrolled; ++u) x[u] = base[walk.offset(i + u * step)];
#pragma unroll
    for (int u = 0; u < unrolled; ++u) acc += x[u];
  }
  for (; i < end; i += step) acc += base[walk.offset(i)];
  return acc;
}

template <class T, class Index>
__global__ void sum_per_thread_kernel(const T* in, T* out, Reduction<Index> r, T scale) {
  PIXSYN_GRID_STRIDE_AS(Index, o, r.outputs) {
    const double acc = add_inputs(0.0, in + r.kept.offset(o), r.reduced, Index(0), r.count, Index(1));
    out[o] = static_cast<T>(acc) * scale;
  }
}

// Block b sums part b % parts of output b / parts.
template <class T, class Index>
__global__ void sum_per_block_kernel(const T* in, T* out, double* partial, Reduction<Index> r, T scale) {
  using Reduce = cub::BlockReduce<double, block_size>;
  __shared__ typename Reduce::TempStorage temp;
  for (Index b = blockIdx.x; b < r.outputs * r.parts; b += gridDim.x) {
    const Index o = b / r.parts, p = b % r.parts;
    const Index end = min(r.count, (p + 1) * r.chunk);
    const double acc =
        add_inputs(0.0, in + r.kept.offset(o), r.reduced, Index(p * r.chunk + threadIdx.x), end, Index(block_size));
    const double total = Reduce(temp).Sum(acc);
    if (threadIdx.x == 0) store(out, partial, r, o, p, total, scale);
    __syncthreads();  // temp is reused by the next block's worth of work
  }
}

// Block b sums part b % parts of the tile of outputs b / parts; threadIdx.x picks the output, threadIdx.y
// the lane, and the lanes' sums are added in lane order.
template <class T, class Index>
__global__ void sum_columns_kernel(const T* in, T* out, double* partial, Reduction<Index> r, T scale) {
  __shared__ double lanes[tile_lanes][tile_outputs];
  const Index tiles = (r.outputs + tile_outputs - 1) / tile_outputs;
  for (Index b = blockIdx.x; b < tiles * r.parts; b += gridDim.x) {
    const Index o = b / r.parts * tile_outputs + threadIdx.x, p = b % r.parts;
    double acc = 0;
    if (o < r.outputs)
      acc = add_inputs(acc, in + r.kept.offset(o), r.reduced, Index(p * r.chunk + threadIdx.y),
                       min(r.count, (p + 1) * r.chunk), Index(tile_lanes));
    lanes[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && o < r.outputs) {
      double total = 0;
      for (int l = 0; l < tile_lanes; ++l) total += lanes[l][threadIdx.x];
      store(out, partial, r, o, p, total, scale);
    }
    __syncthreads();  // lanes is reused by the next block's worth of work
  }
}

// The second pass: each output's parts added in order.
template <class T, class Index>
__global__ void sum_parts_kernel(const double* partial, T* out, Index outputs, Index parts, T scale) {
  PIXSYN_GRID_STRIDE_AS(Index, o, outputs) {
    double acc = 0;
    for (Index p = 0; p < parts; ++p) acc += partial[o * parts + p];
    out[o] = static_cast<T>(acc) * scale;
  }
}

unsigned blocks_for(std::int64_t work) { return static_cast<unsigned>(work < 65536 ? work : 65536); }

template <class T, class Index>
void launch_sum(const T* in, T* out, const StridedAxes<1>& kept, const StridedAxes<1>& reduced, std::int64_t outputs,
                std::int64_t count, T scale) {
  Reduction<Index> r{
      StridedWalk<Index, 1>(kept), StridedWalk<Index, 1>(reduced), Index(outputs), Index(count), 1, Index(count)};
  const bool columns = kept.rank > 0 && kept.stride[0][kept.rank - 1] == 1;
  if (count <= 16 || (!columns && count <= 256 && outputs >= 4096)) {
    sum_per_thread_kernel<<<grid_for(outputs), block_size, 0, stream()>>>(in, out, r, scale);
    return;
  }
  // One part per output (or tile) unless that leaves the GPU idle and the inputs are many.
  const std::int64_t units = columns ? (outputs + tile_outputs - 1) / tile_outputs : outputs;
  const std::int64_t per_unit = columns ? tile_outputs : 1;
  std::int64_t parts =
      std::min((target_blocks + units - 1) / units, (count * per_unit + min_block_inputs - 1) / min_block_inputs);
  parts = std::max<std::int64_t>(parts, 1);
  const std::int64_t chunk = (count + parts - 1) / parts;
  parts = (count + chunk - 1) / chunk;  // no empty part
  r.parts = Index(parts);
  r.chunk = Index(chunk);
  const std::unique_ptr<void, void (*)(void*)> workspace(
      parts > 1 ? allocate(sizeof(double) * outputs * parts) : nullptr, deallocate);
  auto* partial = static_cast<double*>(workspace.get());
  if (columns)
    sum_columns_kernel<<<blocks_for(units * parts), dim3(tile_outputs, tile_lanes), 0, stream()>>>(in, out, partial, r,
                                                                                                   scale);
  else
    sum_per_block_kernel<<<blocks_for(units * parts), block_size, 0, stream()>>>(in, out, partial, r, scale);
  if (parts > 1) {
    check_launch("sum");
    sum_parts_kernel<<<grid_for(outputs), block_size, 0, stream()>>>(partial, out, Index(outputs), Index(parts), scale);
  }
}

}  // namespace

template <class T>
void sum(const T* in, T* out, const ReduceGeometry& g, T scale) {
  if (g.outputs == 0) return;
  StridedAxes<1> kept, reduced;
  for (int d = 0; d < g.kept_rank; ++d) kept.push(g.kept_extent[d], {g.kept_stride[d]});
  // A sum over nothing walks no axes (an extent of 0 has no divider).
  if (g.count > 0)
    for (int d = 0; d < g.reduced_rank; ++d) reduced.push(g.reduced_extent[d], {g.reduced_stride[d]});
  kept = kept.collapsed();
  reduced = reduced.collapsed();
  // 32 bits: every output's index, every input's index within its output, their offsets and their sum, and
  // the parts' bounds and block indices (below 2 count and outputs · count).
  const bool narrow = kept.fits_int32() && reduced.fits_int32() &&
                      fits_int32({kept.last_offset(0) + reduced.last_offset(0), 2 * g.outputs * g.count});
  with_index_type(narrow,
                  [&]<class Index>(Index) { launch_sum<T, Index>(in, out, kept, reduced, g.outputs, g.count, scale); });
  check_launch("sum");
}

template void sum<float>(const float*, float*, const ReduceGeometry&, float);
template void sum<double>(const double*, double*, const ReduceGeometry&, double);

}  // namespace pixsyn::backend::cuda
