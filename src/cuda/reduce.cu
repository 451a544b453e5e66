// Sums over axes, accumulated in double like the CPU kernel and without atomics: how a reduction is split
// depends on its sizes only, so the result never depends on scheduling. The kept and the reduced axes are
// collapsed and walked with 32-bit index math (strided_index.cuh). Four layouts of the work:
//   - few inputs per output: one thread per output;
//   - outputs contiguous in memory (a sum over the rows of (rows, C)): tiles of 32 neighbouring outputs by 8
//     lanes, so that a warp reads 32 neighbouring floats;
//   - many outputs of a few hundred to thousands of inputs each (a sum over the channels of (rows, C)): one warp
//     per output, without a block's synchronisation per output;
//   - else one block per output, its threads striding over the reduced axes (coalesced when the innermost
//     reduced axis is contiguous: rows, per-channel bias gradients of NCHW).
// Where that gives too few blocks to fill the GPU (a sum with few outputs runs on a handful of SMs), each
// output's inputs are cut into parts: the blocks write partial sums (double) to a workspace, and a second
// pass adds each output's parts in order.
// Sums of 2^30 inputs and more keep 32-bit index math where it runs per input: a part starts at a 64-bit
// offset, once per block, and walks its inputs in 32 bits (parts are made short enough for that), and the
// outputs are launched in pieces whose offsets fit 32 bits. Each output's sum is the same as if it all fitted.
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

// Output o sums the inputs at kept.offset(o) + reduced.offset(i) for i < count, in `parts` parts of `chunk`
// inputs (the last one shorter). Part p starts at input p·chunk = q·inner + r, where inner is the count of
// inputs per index of the outermost reduced axis: at offset q·outer_stride plus the walk's offset of r. The
// walk steps linearly through its outermost axis, so part p's inputs are the walk's r .. r + chunk - 1 past
// that start: 32-bit index math within a part even where the whole sum needs 64 bits.
template <class Index>
struct Reduction {
  StridedWalk<Index, 1> kept, reduced;
  Index outputs, parts;
  std::int64_t count, chunk, inner, outer_stride;
};

// A part of a sum: the inputs at base + reduced.offset(i) for i in [first, end).
template <class Index>
struct Part {
  std::int64_t base;
  Index first, end;
};

template <class Index>
__device__ __forceinline__ Part<Index> part(const Reduction<Index>& r, Index p) {
  if (r.parts == 1) return {0, 0, static_cast<Index>(r.count)};
  const std::int64_t first = p * r.chunk, q = first / r.inner;
  const auto start = static_cast<Index>(first - q * r.inner);
  return {q * r.outer_stride, start, static_cast<Index>(start + min(r.chunk, r.count - first))};
}

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
    const double acc = add_inputs(0.0, in + r.kept.offset(o), r.reduced, Index(0), Index(r.count), Index(1));
    out[o] = static_cast<T>(acc) * scale;
  }
}

// Warp w sums output w: lane l adds inputs l, l + 32, ... in order, and the lanes' sums meet in a fixed tree of
// shuffles. Every lane of a warp runs the same outputs, so all 32 take part in each shuffle.
template <class T, class Index>
__global__ void sum_rows_kernel(const T* in, T* out, Reduction<Index> r, T scale) {
  constexpr int warp = 32, warps_per_block = block_size / warp;
  const auto lane = static_cast<Index>(threadIdx.x % warp);
  for (Index o = static_cast<Index>(blockIdx.x) * warps_per_block + threadIdx.x / warp; o < r.outputs;
       o += static_cast<Index>(gridDim.x) * warps_per_block) {
    double acc = add_inputs(0.0, in + r.kept.offset(o), r.reduced, lane, static_cast<Index>(r.count), Index(warp));
#pragma unroll
    for (int d = warp / 2; d > 0; d /= 2) acc += __shfl_down_sync(0xffffffffu, acc, d);
    if (lane == 0) out[o] = static_cast<T>(acc) * scale;
  }
}

// Block b sums part b % parts of output b / parts.
template <class T, class Index>
__global__ void sum_per_block_kernel(const T* in, T* out, double* partial, Reduction<Index> r, T scale) {
  using Reduce = cub::BlockReduce<double, block_size>;
  __shared__ typename Reduce::TempStorage temp;
  for (Index b = blockIdx.x; b < r.outputs * r.parts; b += gridDim.x) {
    const Index o = b / r.parts;
    const Part<Index> s = part(r, b % r.parts);
    const double acc = add_inputs(0.0, in + r.kept.offset(o) + s.base, r.reduced, Index(s.first + threadIdx.x), s.end,
                                  Index(block_size));
    const double total = Reduce(temp).Sum(acc);
    if (threadIdx.x == 0) store(out, partial, r, o, b % r.parts, total, scale);
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
    if (o < r.outputs) {
      const Part<Index> s = part(r, p);
      acc = add_inputs(acc, in + r.kept.offset(o) + s.base, r.reduced, Index(s.first + threadIdx.y), s.end,
                       Index(tile_lanes));
    }
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
template <class T>
__global__ void sum_parts_kernel(const double* partial, T* out, std::int64_t outputs, std::int64_t parts, T scale) {
  PIXSYN_GRID_STRIDE(o, outputs) {
    double acc = 0;
    for (std::int64_t p = 0; p < parts; ++p) acc += partial[o * parts + p];
    out[o] = static_cast<T>(acc) * scale;
  }
}

unsigned blocks_for(std::int64_t work) { return static_cast<unsigned>(work < 65536 ? work : 65536); }

enum class Layout { per_thread, columns, rows, per_block };

// How a sum is split: its layout, and each output's inputs in `parts` parts of `chunk`.
struct SumPlan {
  Layout layout;
  std::int64_t parts, chunk;
};

// How long a part may be for its walk to fit below `limit`: `any` inputs from any start, `aligned` inputs from
// the start of a row of the outermost reduced axis (whole rows). Both all `count` when the whole walk fits; 0
// when not even one row does.
struct PartBound {
  std::int64_t any, aligned;
};

PartBound part_bound(const StridedAxes<1>& reduced, std::int64_t count, std::int64_t limit) {
  if (limit < 2) return {0, 0};
  if (reduced.fits_below(limit)) return {count, count};
  const std::int64_t inner = count / reduced.extent[0], room = limit - 1 - reduced.inner(1).last_offset(0),
                     stride = reduced.stride[0][0];
  if (room < 0 || inner >= limit) return {0, 0};
  // The rows whose offsets and indices stay below the limit.
  std::int64_t rows = stride == 0 ? reduced.extent[0] : std::min(reduced.extent[0], room / stride + 1);
  rows = std::min(rows, (limit - 1) / inner);
  // From r < inner into the first row, a part of (rows - 1)·inner + 1 inputs ends within `rows` rows.
  return {(rows - 1) * inner + 1, rows * inner};
}

// The layout and parts of a sum of `count` inputs into each output of `kept`, with parts within `bound`.
SumPlan plan_sum(const StridedAxes<1>& kept, std::int64_t count, const PartBound& bound) {
  const std::int64_t outputs = kept.numel();
  const bool columns = kept.rank > 0 && kept.stride[0][kept.rank - 1] == 1;
  if ((count <= 16 || (!columns && count <= 256 && outputs >= 4096)) && count <= bound.aligned)
    return {Layout::per_thread, 1, count};
  // Enough outputs to fill the GPU with a warp each (8192: 1024 blocks), one part each.
  if (!columns && count > 256 && outputs >= 8192 && count <= bound.aligned) return {Layout::rows, 1, count};
  // One part per output (or tile) unless that leaves the GPU idle and the inputs are many.
  const std::int64_t units = columns ? (outputs + tile_outputs - 1) / tile_outputs : outputs;
  const std::int64_t per_unit = columns ? tile_outputs : 1;
  std::int64_t parts =
      std::min((target_blocks + units - 1) / units, (count * per_unit + min_block_inputs - 1) / min_block_inputs);
  parts = std::max<std::int64_t>(parts, 1);
  std::int64_t chunk = (count + parts - 1) / parts;
  // Parts too long for 32-bit index math become whole rows, as many as fit: each starts at a row.
  if (chunk > bound.any) chunk = bound.aligned;
  parts = (count + chunk - 1) / chunk;  // no empty part
  return {columns ? Layout::columns : Layout::per_block, parts, chunk};
}

// The reduced axes as a part walks them: the rows of the outermost axis that parts reach (r + chunk inputs
// from r < inner), no more (an extent beyond 32 bits has no 32-bit divider).
StridedAxes<1> part_walk(const StridedAxes<1>& reduced, std::int64_t count, std::int64_t chunk) {
  StridedAxes<1> walk = reduced;
  if (walk.rank > 0) {
    const std::int64_t inner = count / walk.extent[0];
    walk.extent[0] = std::min(walk.extent[0], (std::min(count, inner - 1 + chunk) + inner - 1) / inner);
  }
  return walk;
}

// The outputs of `kept` (out, and partial at `parts` per output) of one launch with Index arithmetic.
template <class T, class Index>
void launch_sum(const T* in, T* out, double* partial, const StridedAxes<1>& kept, const StridedAxes<1>& reduced,
                std::int64_t count, const SumPlan& plan, T scale) {
  const std::int64_t outputs = kept.numel();
  const Reduction<Index> r{StridedWalk<Index, 1>(kept),
                           StridedWalk<Index, 1>(part_walk(reduced, count, plan.chunk)),
                           Index(outputs),
                           Index(plan.parts),
                           count,
                           plan.chunk,
                           reduced.rank > 0 ? count / reduced.extent[0] : 1,
                           reduced.rank > 0 ? reduced.stride[0][0] : 0};
  switch (plan.layout) {
    case Layout::per_thread:
      sum_per_thread_kernel<<<grid_for(outputs), block_size, 0, stream()>>>(in, out, r, scale);
      break;
    case Layout::columns:
      sum_columns_kernel<<<blocks_for((outputs + tile_outputs - 1) / tile_outputs * plan.parts),
                           dim3(tile_outputs, tile_lanes), 0, stream()>>>(in, out, partial, r, scale);
      break;
    case Layout::rows:
      sum_rows_kernel<<<blocks_for((outputs + block_size / 32 - 1) / (block_size / 32)), block_size, 0, stream()>>>(
          in, out, r, scale);
      break;
    case Layout::per_block:
      sum_per_block_kernel<<<blocks_for(outputs * plan.parts), block_size, 0, stream()>>>(in, out, partial, r, scale);
      break;
  }
  check_launch("sum");
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
  // 32-bit index math where the parts' walks fit (part_bound, which may take more and shorter parts) and the
  // outputs go in pieces whose indices, offsets and partial sums' indices fit: one piece unless the kept
  // offsets reach 2^30. Parts of fewer than 8 inputs cost more in partial sums than 64-bit index math does.
  SumPlan plan = plan_sum(kept, g.count, PartBound{g.count, g.count});
  const std::int64_t limit = narrow_index_limit();
  const PartBound bound = part_bound(reduced, g.count, limit);
  std::vector<StridedPiece<1>> pieces;
  if (bound.aligned > 0) {
    const SumPlan bounded = plan_sum(kept, g.count, bound);
    if (bounded.parts <= std::max(plan.parts, g.count / 8)) pieces = narrow_pieces(kept, limit / bounded.parts);
    if (!pieces.empty()) plan = bounded;
  }
  const std::unique_ptr<void, void (*)(void*)> workspace(
      plan.parts > 1 ? allocate(sizeof(double) * g.outputs * plan.parts) : nullptr, deallocate);
  auto* partial = static_cast<double*>(workspace.get());
  for (const auto& p : pieces)
    launch_sum<T, std::int32_t>(in + p.offset[0], out + p.first, partial ? partial + p.first * plan.parts : nullptr,
                                p.axes.collapsed(), reduced, g.count, plan, scale);
  if (pieces.empty()) launch_sum<T, std::int64_t>(in, out, partial, kept, reduced, g.count, plan, scale);
  if (plan.parts > 1) {
    sum_parts_kernel<<<grid_for(g.outputs), block_size, 0, stream()>>>(partial, out, g.outputs, plan.parts, scale);
    check_launch("sum");
  }
}

template void sum<float>(const float*, float*, const ReduceGeometry&, float);
template void sum<double>(const double*, double*, const ReduceGeometry&, double);

}  // namespace pixsyn::backend::cuda
