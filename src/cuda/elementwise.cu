// Elementwise kernels: unary maps, broadcasting binary maps, strided copies, bias + leaky ReLU and its backward.
// They move 16-byte vectors (vectors.cuh) wherever the operands allow it: a contiguous range of aligned operands up
// to its tail, or a strided index space whose innermost axis every operand reads contiguously or broadcasts, in
// whole vectors (an ALIS modulation x (B, C, H, W) times styles (B, C, 1, W), a per-channel bias). Transposing
// copies go through tiles in shared memory; other strided layouts run one element per thread. All collapse
// their axes first and use 32-bit index math, huge index spaces cut into pieces that fit it (strided_index.cuh).
// Formulas mirror the CPU kernels in backend/eigen and ops/ so both devices agree to rounding; every layout computes
// each element with the same arithmetic.
#include <algorithm>
#include <cmath>

#include "common.cuh"
#include "pixsyn/backend/cuda/elementwise.hpp"
#include "strided_index.cuh"
#include "vectors.cuh"

namespace pixsyn::backend::cuda {

namespace {

template <class T>
struct Params {
  T a, b, c, d;
  bool clamped;
};

template <Unary op, class T>
__device__ __forceinline__ T apply(T v, const Params<T>& p) {
  if constexpr (op == Unary::neg) return -v;
  if constexpr (op == Unary::exp) return std::exp(v);
  if constexpr (op == Unary::log) return std::log(v);
  if constexpr (op == Unary::sqrt) return std::sqrt(v);
  if constexpr (op == Unary::rsqrt) return T(1) / std::sqrt(v);
  if constexpr (op == Unary::square) return v * v;
  if constexpr (op == Unary::abs) return std::abs(v);
  if constexpr (op == Unary::sin) return std::sin(v);
  if constexpr (op == Unary::cos) return std::cos(v);
  if constexpr (op == Unary::sigmoid) {
    if (v >= 0) return T(1) / (T(1) + std::exp(-v));
    const T e = std::exp(v);
    return e / (T(1) + e);
  }
  if constexpr (op == Unary::sign) return static_cast<T>((v > T(0)) - (v < T(0)));
  if constexpr (op == Unary::softplus) return (v > T(0) ? v : T(0)) + std::log1p(std::exp(-std::abs(v)));
  if constexpr (op == Unary::floor) return std::floor(v);
  if constexpr (op == Unary::add_scalar) return v + p.a;
  if constexpr (op == Unary::mul_scalar) return v * p.a;
  if constexpr (op == Unary::div_scalar) return v / p.a;
  if constexpr (op == Unary::clamp) return v < p.a ? p.a : (p.b < v ? p.b : v);
  if constexpr (op == Unary::clamp_mask) return p.a < v && v < p.b ? T(1) : T(0);
  if constexpr (op == Unary::leaky_relu) {
    T y = v * (v > 0 ? p.a : p.b);
    y = y < p.c ? p.c : y;
    return y > p.d ? p.d : y;
  }
  if constexpr (op == Unary::leaky_relu_derivative) {
    if (p.clamped && !(v > p.c && v < p.d)) return T(0);
    return v > 0 ? p.a : p.b;
  }
}

// The maps as functors of one or two elements, so that one kernel template serves every layout.
template <Unary op, class T>
struct UnaryFn {
  Params<T> p;
  __device__ __forceinline__ T operator()(T v) const { return apply<op>(v, p); }
};

template <Binary op>
struct Combine {
  template <class T>
  __device__ __forceinline__ T operator()(T x, T y) const {
    if constexpr (op == Binary::add) return x + y;
    if constexpr (op == Binary::sub) return x - y;
    if constexpr (op == Binary::mul) return x * y;
    if constexpr (op == Binary::div) return x / y;
  }
};

struct Copy {
  template <class T>
  __device__ __forceinline__ T operator()(T v) const {
    return v;
  }
};

template <class T>
struct BiasLeakyRelu {
  Params<T> p;
  __device__ __forceinline__ T operator()(T x, T bias) const { return apply<Unary::leaky_relu>(x + bias, p); }
};

// The gradient times the derivative as the unary map writes it: the same product as Combine<mul> of g and the
// mask, without the mask in memory.
template <class T>
struct LeakyReluBackward {
  Params<T> p;
  __device__ __forceinline__ T operator()(T g, T y) const { return g * apply<Unary::leaky_relu_derivative>(y, p); }
};

// The N input pointers of a map (a kernel parameter).
template <class T, int N>
struct Inputs {
  const T* ptr[N];
};

// W elements of each of N operands, and f of them element by element: the arithmetic of every element is
// the same whether it comes in a vector or alone.
template <class T, int N, int W>
struct Loaded {
  Pack<T, W> in[N];
};

template <class F, class T, int N, int W>
__device__ __forceinline__ Pack<T, W> map(const F& f, const Loaded<T, N, W>& x) {
  Pack<T, W> y;
#pragma unroll
  for (int e = 0; e < W; ++e) {
    if constexpr (N == 1)
      y.v[e] = f(x.in[0].v[e]);
    else
      y.v[e] = f(x.in[0].v[e], x.in[1].v[e]);
  }
  return y;
}

// out[i] = f(in[i]...) over n contiguous elements: `vectors` whole vectors (none when a pointer is off the
// 16-byte grid), then the tail one element per thread.
template <int N, class T, class F>
__global__ void contiguous_kernel(Inputs<T, N> in, T* __restrict__ out, std::int64_t n, std::int64_t vectors, F f) {
  constexpr int V = vector_width<T>;
  const auto load = [&]<int W>(std::int64_t i, Width<W>) {
    Loaded<T, N, W> x;
#pragma unroll
    for (int k = 0; k < N; ++k) x.in[k] = load_pack<W>(in.ptr[k] + i);
    return x;
  };
  grid_stride_pairs(
      vectors, [&](std::int64_t v) { return load(v * V, Width<V>{}); },
      [&](std::int64_t v, const Loaded<T, N, V>& x) { store_pack(out + v * V, map(f, x)); });
  PIXSYN_GRID_STRIDE(t, n - vectors * V) {
    const std::int64_t i = vectors * V + t;
    store_pack(out + i, map(f, load(i, Width<1>{})));
  }
}

// out[i] = f(in[off_k(i)]...) through the walk w of the collapsed axes: one element per thread.
template <int N, class T, class Index, class F>
__global__ void strided_kernel(Inputs<T, N> in, T* __restrict__ out, Index n, StridedWalk<Index, N> w, F f) {
  PIXSYN_GRID_STRIDE_AS(Index, i, n) {
    Index off[N];
    w.offsets(i, off);
    Loaded<T, N, 1> x;
#pragma unroll
    for (int k = 0; k < N; ++k) x.in[k].v[0] = in.ptr[k][off[k]];
    out[i] = map(f, x).v[0];
  }
}

// The same over whole vectors of the innermost axis, whose extent is a multiple of the vector width V: w
// walks the vectors (the innermost axis counted in vectors) to each operand's offset of a vector's first
// element. Operand k (bit k of `whole`) reads its innermost axis contiguously, as a vector; the others
// broadcast it (stride 0): one element repeated. One division chain per vector instead of one per element.
template <int N, class T, class F>
__global__ void strided_vector_kernel(Inputs<T, N> in, T* __restrict__ out, std::int32_t vectors,
                                      StridedWalk<std::int32_t, N> w, unsigned whole, F f) {
  constexpr int V = vector_width<T>;
  grid_stride_pairs(
      vectors,
      [&](std::int32_t v) {
        std::int32_t off[N];
        w.offsets(v, off);
        Loaded<T, N, V> x;
#pragma unroll
        for (int k = 0; k < N; ++k)
          x.in[k] = (whole >> k & 1u) ? load_pack<V>(in.ptr[k] + off[k]) : splat<V>(in.ptr[k][off[k]]);
        return x;
      },
      [&](std::int32_t v, const Loaded<T, N, V>& x) { store_pack(out + std::int64_t(v) * V, map(f, x)); });
}

// A transposing copy: the index space (outer, m, l) read with strides (walked, 1, stride_l), i.e. a permute that
// moved the input's contiguous axis off the innermost one (NCHW to NHWC, a matrix transpose). Block b copies
// tile b % tiles of the (m, l) plane b / tiles through shared memory: read along m, written along l, both
// coalesced (an element per thread would read with stride stride_l).
constexpr int tile = 32, tile_rows = 8;

struct TransposeGeometry {
  std::int32_t planes, m, l, stride_l, tiles_m, tiles_l;
};

template <class T>
__global__ void transpose_kernel(const T* __restrict__ in, T* __restrict__ out, TransposeGeometry g,
                                 StridedWalk<std::int32_t, 1> planes) {
  __shared__ T staged[tile][tile + 1];  // +1: the column reads hit 32 different banks
  const std::int32_t tiles = g.tiles_m * g.tiles_l;
  for (std::int32_t b = blockIdx.x; b < g.planes * tiles; b += gridDim.x) {
    const std::int32_t q = b / tiles, r = b - q * tiles, m0 = r / g.tiles_l * tile, l0 = r % g.tiles_l * tile;
    const T* src = in + planes.offset(q);
    for (int j = threadIdx.y; j < tile; j += tile_rows)
      if (m0 + int(threadIdx.x) < g.m && l0 + j < g.l)
        staged[j][threadIdx.x] = src[m0 + threadIdx.x + (l0 + j) * g.stride_l];
    __syncthreads();
    T* dst = out + q * (g.m * g.l);
    for (int j = threadIdx.y; j < tile; j += tile_rows)
      if (m0 + j < g.m && l0 + int(threadIdx.x) < g.l) dst[(m0 + j) * g.l + l0 + threadIdx.x] = staged[threadIdx.x][j];
    __syncthreads();  // staged is reused by the block's next tile
  }
}

// Whether a copy over `axes` (a piece: 32-bit indices) transposes (the input's contiguous axis just before the
// innermost, which the input steps over with a larger stride) with extents that fill tiles well.
bool transposes(const StridedAxes<1>& axes) {
  const int r = axes.rank;
  return r >= 2 && axes.stride[0][r - 2] == 1 && axes.stride[0][r - 1] > 1 && axes.extent[r - 2] >= tile / 2 &&
         axes.extent[r - 1] >= tile / 2;
}

template <class T>
void launch_transpose(const T* in, T* out, const StridedAxes<1>& axes) {
  const int r = axes.rank;
  StridedAxes<1> planes;
  for (int d = 0; d < r - 2; ++d) planes.push(axes.extent[d], {axes.stride[0][d]});
  const TransposeGeometry g{std::int32_t(planes.numel()),
                            std::int32_t(axes.extent[r - 2]),
                            std::int32_t(axes.extent[r - 1]),
                            std::int32_t(axes.stride[0][r - 1]),
                            std::int32_t((axes.extent[r - 2] + tile - 1) / tile),
                            std::int32_t((axes.extent[r - 1] + tile - 1) / tile)};
  const std::int64_t blocks = std::min<std::int64_t>(std::int64_t(g.planes) * g.tiles_m * g.tiles_l, 65536);
  transpose_kernel<<<unsigned(blocks), dim3(tile, tile_rows), 0, stream()>>>(in, out, g,
                                                                             StridedWalk<std::int32_t, 1>(planes));
}

// The operands' strides of g, and then only the axes the kernel must tell apart (StridedAxes::collapsed).
template <int N>
StridedAxes<N> collapsed_axes(const Strided& g) {
  StridedAxes<N> axes;
  for (int d = 0; d < g.rank; ++d) {
    std::int64_t s[N];
    s[0] = g.stride_a[d];
    if constexpr (N == 2) s[1] = g.stride_b[d];
    axes.push(g.extent[d], s);
  }
  return axes.collapsed();
}

template <class T>
Params<T> params(const UnaryArgs& a) {
  return {static_cast<T>(a.a), static_cast<T>(a.b), static_cast<T>(a.c), static_cast<T>(a.d), a.clamped};
}

template <int N, class T, class F>
void launch_contiguous(const Inputs<T, N>& in, T* out, std::int64_t n, const F& f) {
  bool aligned = vector_aligned(out);
  for (int k = 0; k < N; ++k) aligned = aligned && vector_aligned(in.ptr[k]);
  const std::int64_t vectors = aligned ? n / vector_width<T> : 0;
  const unsigned blocks = std::max(grid_for_pairs(vectors), grid_for(n - vectors * vector_width<T>));
  contiguous_kernel<<<blocks, block_size, 0, stream()>>>(in, out, n, vectors, f);
}

// Whether the strided vector kernel can run `axes` (a piece: 32-bit index math): an innermost extent of whole
// vectors; every operand's innermost stride 0 or 1, with the vector loads of the latter aligned (its pointer, and
// its other strides in whole vectors); and an aligned output. Sets the bits of the contiguous operands in `whole`.
template <int N, class T>
bool vectorizable(const Inputs<T, N>& in, const T* out, const StridedAxes<N>& axes, unsigned& whole) {
  constexpr int V = vector_width<T>;
  const int last = axes.rank - 1;
  if (last < 0 || axes.extent[last] % V != 0 || !vector_aligned(out)) return false;
  whole = 0;
  for (int k = 0; k < N; ++k) {
    if (axes.stride[k][last] == 0) continue;
    if (axes.stride[k][last] != 1 || !vector_aligned(in.ptr[k])) return false;
    for (int d = 0; d < last; ++d)
      if (axes.stride[k][d] % V != 0) return false;
    whole |= 1u << k;
  }
  return true;
}

// out[i] = f(operands at their offsets of i) over the collapsed axes of a piece (32-bit index math): whole
// vectors where the layout allows it, else one element per thread.
template <int N, class T, class F>
void launch_piece(const Inputs<T, N>& in, T* out, const StridedAxes<N>& axes, const F& f) {
  constexpr int V = vector_width<T>;
  const std::int64_t n = axes.numel();
  unsigned whole = 0;
  if (vectorizable(in, out, axes, whole)) {
    StridedAxes<N> vectors = axes;
    const int last = axes.rank - 1;
    vectors.extent[last] /= V;
    for (int k = 0; k < N; ++k) vectors.stride[k][last] *= V;
    strided_vector_kernel<<<grid_for_pairs(n / V), block_size, 0, stream()>>>(
        in, out, std::int32_t(n / V), StridedWalk<std::int32_t, N>(vectors), whole, f);
    return;
  }
  strided_kernel<<<grid_for(n), block_size, 0, stream()>>>(in, out, std::int32_t(n), StridedWalk<std::int32_t, N>(axes),
                                                           f);
}

// Calls run(operands, output, axes) on each piece of `axes` that fits 32-bit index math (the whole, unless it
// has 2^30 elements or offsets or more), the operands and the output moved to the piece's start; false, with
// nothing run, where the axes need 64-bit index math (too many pieces, or force_wide_indices).
template <int N, class T, class Run>
bool run_in_pieces(const Inputs<T, N>& in, T* out, const StridedAxes<N>& axes, const Run& run) {
  const auto pieces = narrow_pieces(axes, narrow_index_limit());
  for (const auto& p : pieces) {
    Inputs<T, N> at = in;
    for (int k = 0; k < N; ++k) at.ptr[k] += p.offset[k];
    run(at, out + p.first, p.axes.collapsed());
  }
  return !pieces.empty();
}

// out[i] = f(operands at their offsets of i) over n elements of the collapsed axes.
template <int N, class T, class F>
void launch_strided(const Inputs<T, N>& in, T* out, std::int64_t n, const StridedAxes<N>& axes, const F& f) {
  const auto piece = [&](const Inputs<T, N>& at, T* to, const StridedAxes<N>& a) { launch_piece(at, to, a, f); };
  if (!run_in_pieces(in, out, axes, piece))
    strided_kernel<<<grid_for(n), block_size, 0, stream()>>>(in, out, n, StridedWalk<std::int64_t, N>(axes), f);
}

template <Unary op, class T>
void launch_unary(const T* x, T* y, std::int64_t n, const UnaryArgs& args) {
  launch_contiguous<1>({x}, y, n, UnaryFn<op, T>{params<T>(args)});
}

// Broadcasts often collapse to equal contiguous operands, or to a few axes.
template <Binary op, class T>
void launch_binary(const T* a, const T* b, T* out, std::int64_t n, const Strided& g, bool contiguous) {
  const Inputs<T, 2> in{{a, b}};
  if (contiguous) return launch_contiguous(in, out, n, Combine<op>{});
  const auto axes = collapsed_axes<2>(g);
  if (axes.contiguous()) return launch_contiguous(in, out, n, Combine<op>{});
  launch_strided(in, out, n, axes, Combine<op>{});
}

}  // namespace

template <class T>
void unary(Unary op, const T* x, T* y, std::int64_t n, const UnaryArgs& args) {
  if (n == 0) return;
  switch (op) {
#define PIXSYN_UNARY_CASE(name)               \
  case Unary::name:                           \
    launch_unary<Unary::name>(x, y, n, args); \
    break;
    PIXSYN_UNARY_CASE(neg)
    PIXSYN_UNARY_CASE(exp)
    PIXSYN_UNARY_CASE(log)
    PIXSYN_UNARY_CASE(sqrt)
    PIXSYN_UNARY_CASE(rsqrt)
    PIXSYN_UNARY_CASE(square)
    PIXSYN_UNARY_CASE(abs)
    PIXSYN_UNARY_CASE(sin)
    PIXSYN_UNARY_CASE(cos)
    PIXSYN_UNARY_CASE(sigmoid)
    PIXSYN_UNARY_CASE(sign)
    PIXSYN_UNARY_CASE(softplus)
    PIXSYN_UNARY_CASE(floor)
    PIXSYN_UNARY_CASE(add_scalar)
    PIXSYN_UNARY_CASE(mul_scalar)
    PIXSYN_UNARY_CASE(div_scalar)
    PIXSYN_UNARY_CASE(clamp)
    PIXSYN_UNARY_CASE(clamp_mask)
    PIXSYN_UNARY_CASE(leaky_relu)
    PIXSYN_UNARY_CASE(leaky_relu_derivative)
#undef PIXSYN_UNARY_CASE
  }
  check_launch("unary elementwise op");
}

template <class T>
void binary(Binary op, const T* a, const T* b, T* out, std::int64_t n, const Strided& g, bool contiguous) {
  if (n == 0) return;
  switch (op) {
    case Binary::add:
      launch_binary<Binary::add>(a, b, out, n, g, contiguous);
      break;
    case Binary::sub:
      launch_binary<Binary::sub>(a, b, out, n, g, contiguous);
      break;
    case Binary::mul:
      launch_binary<Binary::mul>(a, b, out, n, g, contiguous);
      break;
    case Binary::div:
      launch_binary<Binary::div>(a, b, out, n, g, contiguous);
      break;
  }
  check_launch("binary elementwise op");
}

template <class T>
void strided_copy(const T* in, T* out, std::int64_t n, const Strided& g) {
  if (n == 0) return;
  const auto axes = collapsed_axes<1>(g);
  const auto copy = [](const Inputs<T, 1>& at, T* to, const StridedAxes<1>& a) {
    // A permute that moves only axes of extent 1, a broadcast that adds only such axes, or a piece of
    // contiguous rows.
    if (a.contiguous())
      check_cuda(cudaMemcpyAsync(to, at.ptr[0], sizeof(T) * a.numel(), cudaMemcpyDeviceToDevice, stream()),
                 "strided copy", "cudaMemcpyAsync");
    else if (transposes(a))
      launch_transpose(at.ptr[0], to, a);
    else
      launch_piece(at, to, a, Copy{});
  };
  if (axes.contiguous())
    copy({in}, out, axes);
  else if (!run_in_pieces<1>({in}, out, axes, copy))
    strided_kernel<<<grid_for(n), block_size, 0, stream()>>>(Inputs<T, 1>{in}, out, n,
                                                             StridedWalk<std::int64_t, 1>(axes), Copy{});
  check_launch("strided copy");
}

// x read contiguously, the bias through the strides (0, 1, 0) of x viewed as (outer, channels, inner).
template <class T>
void bias_leaky_relu(const T* x, const T* bias, T* y, std::int64_t outer, std::int64_t channels, std::int64_t inner,
                     const UnaryArgs& f) {
  const std::int64_t n = outer * channels * inner;
  if (n == 0) return;
  StridedAxes<2> axes;
  axes.push(outer, {channels * inner, 0});
  axes.push(channels, {inner, 1});
  axes.push(inner, {1, 0});
  launch_strided<2>({x, bias}, y, n, axes.collapsed(), BiasLeakyRelu<T>{params<T>(f)});
  check_launch("bias_leaky_relu");
}

template <class T>
void leaky_relu_backward(const T* grad, const T* y, T* out, std::int64_t n, const UnaryArgs& f) {
  if (n == 0) return;
  launch_contiguous<2>({{grad, y}}, out, n, LeakyReluBackward<T>{params<T>(f)});
  check_launch("leaky_relu_backward");
}

#define PIXSYN_INSTANTIATE(T)                                                                        \
  template void unary<T>(Unary, const T*, T*, std::int64_t, const UnaryArgs&);                       \
  template void binary<T>(Binary, const T*, const T*, T*, std::int64_t, const Strided&, bool);       \
  template void strided_copy<T>(const T*, T*, std::int64_t, const Strided&);                         \
  template void bias_leaky_relu<T>(const T*, const T*, T*, std::int64_t, std::int64_t, std::int64_t, \
                                   const UnaryArgs&);                                                \
  template void leaky_relu_backward<T>(const T*, const T*, T*, std::int64_t, const UnaryArgs&);
PIXSYN_INSTANTIATE(float)
PIXSYN_INSTANTIATE(double)
#undef PIXSYN_INSTANTIATE

}  // namespace pixsyn::backend::cuda
