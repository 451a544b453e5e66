// Elementwise kernels: unary maps, broadcasting binary maps, strided copies, bias + leaky ReLU. The strided
// ones collapse their axes first and use 32-bit index math where it fits (strided_index.cuh).
// Formulas mirror the CPU kernels in backend/eigen and ops/ so both devices agree to rounding.
#include <cmath>

#include "common.cuh"
#include "pixsyn/backend/cuda/elementwise.hpp"
#include "strided_index.cuh"

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

template <Unary op, class T>
__global__ void unary_kernel(const T* x, T* y, std::int64_t n, Params<T> p) {
  PIXSYN_GRID_STRIDE(i, n) y[i] = apply<op>(x[i], p);
}

template <Binary op, class T>
__device__ __forceinline__ T combine(T x, T y) {
  if constexpr (op == Binary::add) return x + y;
  if constexpr (op == Binary::sub) return x - y;
  if constexpr (op == Binary::mul) return x * y;
  if constexpr (op == Binary::div) return x / y;
}

template <Binary op, class T>
__global__ void binary_contiguous_kernel(const T* a, const T* b, T* out, std::int64_t n) {
  PIXSYN_GRID_STRIDE(i, n) out[i] = combine<op>(a[i], b[i]);
}

template <Binary op, class T, class Index>
__global__ void binary_strided_kernel(const T* a, const T* b, T* out, Index n, StridedWalk<Index, 2> w) {
  PIXSYN_GRID_STRIDE_AS(Index, i, n) {
    Index off[2];
    w.offsets(i, off);
    out[i] = combine<op>(a[off[0]], b[off[1]]);
  }
}

template <class T, class Index>
__global__ void strided_copy_kernel(const T* in, T* out, Index n, StridedWalk<Index, 1> w) {
  PIXSYN_GRID_STRIDE_AS(Index, i, n) out[i] = in[w.offset(i)];
}

// The bias index of element i is its offset through the walk (outer, channels, inner) with strides (0, 1, 0).
template <class T, class Index>
__global__ void bias_leaky_relu_kernel(const T* x, const T* bias, T* y, Index n, StridedWalk<Index, 1> w, Params<T> p) {
  PIXSYN_GRID_STRIDE_AS(Index, i, n) y[i] = apply<Unary::leaky_relu>(x[i] + bias[w.offset(i)], p);
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

template <Unary op, class T>
void launch_unary(const T* x, T* y, std::int64_t n, const UnaryArgs& args) {
  unary_kernel<op><<<grid_for(n), block_size, 0, stream()>>>(x, y, n, params<T>(args));
}

// Broadcasts often collapse to equal contiguous operands, or to a few axes with cheap 32-bit index math.
template <Binary op, class T>
void launch_binary(const T* a, const T* b, T* out, std::int64_t n, const Strided& g, bool contiguous) {
  const auto axes = collapsed_axes<2>(g);
  if (contiguous || axes.contiguous()) {
    binary_contiguous_kernel<op><<<grid_for(n), block_size, 0, stream()>>>(a, b, out, n);
    return;
  }
  with_index_type(axes.fits_int32(), [&]<class Index>(Index) {
    binary_strided_kernel<op>
        <<<grid_for(n), block_size, 0, stream()>>>(a, b, out, Index(n), StridedWalk<Index, 2>(axes));
  });
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
  if (axes.contiguous()) {
    // A permute that moves only axes of extent 1, or a broadcast that adds only such axes.
    check_cuda(cudaMemcpyAsync(out, in, sizeof(T) * n, cudaMemcpyDeviceToDevice, stream()), "strided copy",
               "cudaMemcpyAsync");
    return;
  }
  with_index_type(axes.fits_int32(), [&]<class Index>(Index) {
    strided_copy_kernel<<<grid_for(n), block_size, 0, stream()>>>(in, out, Index(n), StridedWalk<Index, 1>(axes));
  });
  check_launch("strided copy");
}

template <class T>
void bias_leaky_relu(const T* x, const T* bias, T* y, std::int64_t outer, std::int64_t channels, std::int64_t inner,
                     const UnaryArgs& f) {
  const std::int64_t n = outer * channels * inner;
  if (n == 0) return;
  StridedAxes<1> axes;
  axes.push(outer, {0});
  axes.push(channels, {1});
  axes.push(inner, {0});
  with_index_type(axes.fits_int32(), [&]<class Index>(Index) {
    bias_leaky_relu_kernel<<<grid_for(n), block_size, 0, stream()>>>(
        x, bias, y, Index(n), StridedWalk<Index, 1>(axes.collapsed()), params<T>(f));
  });
  check_launch("bias_leaky_relu");
}

#define PIXSYN_INSTANTIATE(T)                                                                  \
  template void unary<T>(Unary, const T*, T*, std::int64_t, const UnaryArgs&);                 \
  template void binary<T>(Binary, const T*, const T*, T*, std::int64_t, const Strided&, bool); \
  template void strided_copy<T>(const T*, T*, std::int64_t, const Strided&);                   \
  template void bias_leaky_relu<T>(const T*, const T*, T*, std::int64_t, std::int64_t, std::int64_t, const UnaryArgs&);
PIXSYN_INSTANTIATE(float)
PIXSYN_INSTANTIATE(double)
#undef PIXSYN_INSTANTIATE

}  // namespace pixsyn::backend::cuda
