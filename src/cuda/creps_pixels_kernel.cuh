#pragma once
// The per-pixel CREPS kernel as templates over a tensor-core policy (see creps_pixels.cuh for what it
// computes): included by creps_pixels.cu (mma.sync: fp16 and 3×TF32) and sm90/creps_pixels.cu (wgmma), which
// are compiled for different targets. Each warp renders 16 pixels (16 columns of one image row, or 16
// consecutive points of a point set) and keeps their features in registers from the first level to RGB:
// every layer is a chain of tensor-core tiles whose fp32 accumulators (per warp 16 pixels × 8 channels
// each) are, after bias and activation, exactly the A operand fragments of the next layer, so activations
// never touch memory. The layer weights stream through two shared-memory buffers (cp.async), one stage
// ahead: the decoder of each level, decoder_last, block0, block1 (the last two per sample, folded with its
// styles). 16-bit mode runs fp16 operands (10-bit mantissa: 8× finer than bf16 at the same speed; values
// saturate at fp16's range) with fp32 accumulation, 16 warps per CTA (16 rows × 16 columns), and also
// stages each level's row and column embeddings of the tile; fp32 mode runs the same chain on 3×TF32
// split products (hi·hi + hi·lo + lo·hi), which keeps fp32 accuracy on the tensor cores, 8 warps per CTA.
// Included from .cu files only.
#include <cuda_fp16.h>

#include <cstdint>

#include "common.cuh"
#include "creps_pixels.cuh"
#include "pixsyn/core/error.hpp"

namespace pixsyn::backend::cuda::creps {

namespace {

constexpr const char* op_name = "creps per-pixel kernel";
// Shared-memory layout of one stage (elements): a decoder's four matrices, or a refinement block's two,
// each of its rows `pad` elements longer than the matrix (the row layout; 0 for wgmma's core matrices).
template <int K, int pad>
struct Stage {
  static constexpr int d1 = 2 * K * (K + pad), d2 = d1 + 4 * K * (2 * K + pad), d3 = d2 + 2 * K * (4 * K + pad);
  static constexpr int decoder_end = d3 + K * (2 * K + pad);
  static constexpr int b1 = 4 * K * (K + pad), block0_end = b1 + 4 * K * (4 * K + pad);
  static constexpr int c1 = 2 * K * (4 * K + pad), block1_end = c1 + 2 * K * (2 * K + pad);
  static constexpr int larger = decoder_end > block0_end ? decoder_end : block0_end;
  static constexpr int elements = larger > block1_end ? larger : block1_end;
};

__device__ __forceinline__ std::int64_t at_most(std::int64_t v, std::int64_t bound) { return v < bound ? v : bound; }

__device__ __forceinline__ std::uint32_t shared_address(const void* p) {
  return static_cast<std::uint32_t>(__cvta_generic_to_shared(p));
}
__device__ __forceinline__ void cp_async16(void* dst, const void* src) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(shared_address(dst)), "l"(src) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
template <int Pending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;" ::"n"(Pending) : "memory");
}

// leaky ReLU (slope 0.2) · √2: max(v, 0.2 v) · √2 (multiplies and a max, no select).
__device__ __forceinline__ float lrelu(float v) { return fmaxf(v, 0.2f * v) * 1.41421356f; }

// Copies a (Rows, In) matrix at src into shared memory in 16-byte chunks; chunk c of row r goes to
// dst + place(r, c) (elements). Sizes are compile-time, so the indexing is shifts and masks.
template <int Rows, int In, class T, class Place>
__device__ __forceinline__ void copy_matrix(T* dst, const T* src, Place place) {
  constexpr int per_chunk = 16 / sizeof(T), chunks = In / per_chunk;
  for (int i = threadIdx.x; i < Rows * chunks; i += blockDim.x) {
    const int r = i / chunks, c = i % chunks;
    cp_async16(dst + place(r, c), src + r * In + c * per_chunk);
  }
}

// Weights in shared memory as rows `pad` elements apart: the layout mma.sync's fragment loads read.
template <class E, int Pad>
struct RowLayout {
  static constexpr int pad = Pad;
  template <int Rows, int In>
  __device__ static void copy(E* dst, const E* src) {
    copy_matrix<Rows, In>(dst, src, [](int r, int c) { return r * (In + pad) + c * int(16 / sizeof(E)); });
  }
  // Row r of a matrix of `In` columns.
  template <int In>
  __device__ static const E* row(const E* w, int r) {
    return w + r * (In + pad);
  }
};

// fp16 operands of the per-pixel chain: the A fragments of m16n8k16 (mma.sync) and m64nNk16 (wgmma,
// per warp) tiles, packed from fp32 accumulators.
struct Half16Frags {
  using Elem = __half;
  static constexpr int k_step = 16;
  struct Frag {
    std::uint32_t r[4];
  };

  // The decoders' hidden layers finish in packed fp16 arithmetic: their √2 gain is folded into the next
  // layer's weights (on the host), so bias and leaky ReLU are two instructions per pair of values.
  static constexpr bool packed_hidden = true;

  // Two values as fp16 (lo in the low half), rounded, saturating at ±65504 rather than overflowing.
  __device__ static std::uint32_t pack(float lo, float hi) {
    std::uint32_t r;
    asm("cvt.rn.satfinite.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
  }
  // A fragment of k block i = the accumulators of n tiles 2i and 2i + 1 (same rows, consecutive columns).
  template <int N>
  __device__ static void to_frags(const float (&c)[N][4], Frag (&a)[N / 2]) {
#pragma unroll
    for (int i = 0; i < N / 2; ++i) {
      a[i].r[0] = pack(c[2 * i][0], c[2 * i][1]);
      a[i].r[1] = pack(c[2 * i][2], c[2 * i][3]);
      a[i].r[2] = pack(c[2 * i + 1][0], c[2 * i + 1][1]);
      a[i].r[3] = pack(c[2 * i + 1][2], c[2 * i + 1][3]);
    }
  }
  // The next layer's fragments from a hidden layer's accumulators: leaky ReLU (slope 0.2) of them + bias,
  // without the gain, on packed fp16 pairs.
  template <int N>
  __device__ static void hidden_frags(const float (&c)[N][4], const float* bias, Frag (&a)[N / 2]) {
    const int t = threadIdx.x % 4;
    const __half2 slope = __float2half2_rn(0.2f);
#pragma unroll
    for (int n = 0; n < N; ++n) {
      const float2 b = __ldg(reinterpret_cast<const float2*>(bias + n * 8 + 2 * t));
      const __half2 bh = __floats2half2_rn(b.x, b.y);
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const std::uint32_t p = pack(c[n][2 * h], c[n][2 * h + 1]);
        __half2 v = __hadd2(*reinterpret_cast<const __half2*>(&p), bh);
        v = __hmax2(v, __hmul2(v, slope));
        a[n / 2].r[(n % 2) * 2 + h] = *reinterpret_cast<const std::uint32_t*>(&v);
      }
    }
  }
};

// fp16 on mma.sync tiles; B fragments by ldmatrix from padded (out, in) rows. 16 warps per CTA.
struct Half16 : Half16Frags, RowLayout<__half, 8> {
  static constexpr int warps = 16, chunk = 32;
  static constexpr bool stage_lines = true;  // the tile's embeddings go through shared memory too

  __device__ static void mma(float (&d)[4], const Frag& a, std::uint32_t b0, std::uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a.r[0]), "r"(a.r[1]), "r"(a.r[2]), "r"(a.r[3]), "r"(b0), "r"(b1));
  }
  // acc (16 × OUT) += x (16 × IN) · wᵀ, w (OUT, IN) in shared memory with rows IN + pad apart.
  template <int In, int Out>
  __device__ static void multiply(const Frag (&x)[In / 16], const Elem* w, float (&acc)[Out / 8][4]) {
    const int lane = threadIdx.x % 32, q = lane / 8;
    // ldmatrix.x4: lanes 8q .. 8q + 7 address the rows of 8 × 8 block q: n tile 2·np + q / 2, k half q % 2.
    const std::uint32_t base = shared_address(w + ((q / 2) * 8 + lane % 8) * (In + pad) + (q % 2) * 8);
#pragma unroll
    for (int np = 0; np < Out / 16; ++np)
#pragma unroll
      for (int kb = 0; kb < In / 16; ++kb) {
        std::uint32_t b[4];
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
                     : "=r"(b[0]), "=r"(b[1]), "=r"(b[2]), "=r"(b[3])
                     : "r"(base + static_cast<std::uint32_t>((np * 16 * (In + pad) + kb * 16) * 2)));
        mma(acc[2 * np], x[kb], b[0], b[1]);
        mma(acc[2 * np + 1], x[kb], b[2], b[3]);
      }
  }
};

// fp32 on the tensor cores: each operand split into a TF32 head and a TF32 tail, three m16n8k8 products.
// The A fragment of k block i holds columns 2t and 2t + 1 of n tile i in its k slots t and t + 4, so the
// B fragment reads the same two adjacent weights (one 8-byte load).
struct Tf32x3 : RowLayout<float, 8> {
  using Elem = float;
  static constexpr bool packed_hidden = false;
  static constexpr int k_step = 8, warps = 8, chunk = 64;
  static constexpr bool stage_lines = false;  // the weights fill shared memory: embeddings come through L1
  struct Frag {
    float r[4];
  };

  template <int N>
  __device__ static void to_frags(const float (&c)[N][4], Frag (&a)[N]) {
#pragma unroll
    for (int i = 0; i < N; ++i) a[i] = {{c[i][0], c[i][2], c[i][1], c[i][3]}};
  }
  __device__ static std::uint32_t tf32(float v) {
    std::uint32_t r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(v));
    return r;
  }
  __device__ static void mma(float (&d)[4], const std::uint32_t (&a)[4], std::uint32_t b0, std::uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
  template <int In, int Out>
  __device__ static void multiply(const Frag (&x)[In / 8], const Elem* w, float (&acc)[Out / 8][4]) {
    const int lane = threadIdx.x % 32;
    const float* row = w + (lane / 4) * (In + pad) + 2 * (lane % 4);
#pragma unroll
    for (int kb = 0; kb < In / 8; ++kb) {
      std::uint32_t hi[4], lo[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        hi[i] = tf32(x[kb].r[i]);
        lo[i] = tf32(x[kb].r[i] - __uint_as_float(hi[i]));
      }
#pragma unroll
      for (int nt = 0; nt < Out / 8; ++nt) {
        const float2 b = *reinterpret_cast<const float2*>(row + nt * 8 * (In + pad) + kb * 8);
        const std::uint32_t bh0 = tf32(b.x), bh1 = tf32(b.y);
        const std::uint32_t bl0 = tf32(b.x - __uint_as_float(bh0)), bl1 = tf32(b.y - __uint_as_float(bh1));
        mma(acc[nt], lo, bh0, bh1);  // the small products first
        mma(acc[nt], hi, bl0, bl1);
        mma(acc[nt], hi, bh0, bh1);
      }
    }
  }
};

// bias, leaky ReLU·√2, and the clamp when > 0, on the accumulators (thread: columns 8n + 2t, + 1).
template <int N>
__device__ __forceinline__ void activate(float (&c)[N][4], const float* bias, float clamp) {
  const int t = threadIdx.x % 4;
#pragma unroll
  for (int n = 0; n < N; ++n) {
    const float2 b = __ldg(reinterpret_cast<const float2*>(bias + n * 8 + 2 * t));
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      float v = lrelu(c[n][e] + (e % 2 ? b.y : b.x));
      if (clamp > 0) v = fminf(fmaxf(v, -clamp), clamp);
      c[n][e] = v;
    }
  }
}

// s[h][o] += Σ_c x[row h][c] · w[o · stride + c] over the 8N channels of x (3 outputs, fp32), for the
// thread's rows g (h = 0) and g + 8 (h = 1) and its columns; quad_sum() then adds up the four lanes.
template <int N>
__device__ __forceinline__ void dot3(const float (&c)[N][4], const float* w, int stride, float (&s)[2][3]) {
  const int t = threadIdx.x % 4;
#pragma unroll
  for (int n = 0; n < N; ++n)
#pragma unroll
    for (int o = 0; o < 3; ++o) {
      const float2 ww = __ldg(reinterpret_cast<const float2*>(w + o * stride + n * 8 + 2 * t));
      s[0][o] = fmaf(c[n][1], ww.y, fmaf(c[n][0], ww.x, s[0][o]));
      s[1][o] = fmaf(c[n][3], ww.y, fmaf(c[n][2], ww.x, s[1][o]));
    }
}
__device__ __forceinline__ void quad_sum(float (&s)[2][3]) {
#pragma unroll
  for (int h = 0; h < 2; ++h)
#pragma unroll
    for (int o = 0; o < 3; ++o) {
      s[h][o] += __shfl_xor_sync(0xffffffffu, s[h][o], 1);
      s[h][o] += __shfl_xor_sync(0xffffffffu, s[h][o], 2);
    }
}

// y = act(x · wᵀ + bias) as the next layer's fragments, 64 output channels at a time (so that only a
// slice of accumulators is live); with Rgb, also rgb_sum += y · rgb_wᵀ (rgb_w (3, Out); before quad_sum).
// y = act(x · wᵀ + bias) as the next layer's fragments, M::chunk output channels at a time (so that only a
// slice of accumulators is live); with Rgb, also rgb_sum += y · rgb_wᵀ (rgb_w (3, Out); before quad_sum).
// Hidden (a decoder's hidden layer): packed fp16 epilogue where the policy has it (M::hidden_frags).
template <class M, int In, int Out, bool Rgb = false, bool Hidden = false>
__device__ __forceinline__ void dense(const typename M::Frag (&x)[In / M::k_step], const typename M::Elem* w,
                                      const float* bias, float clamp, typename M::Frag (&y)[Out / M::k_step],
                                      const float* rgb_w, float (&rgb_sum)[2][3]) {
  constexpr int chunk = Out < M::chunk ? Out : M::chunk, per = chunk / M::k_step;
#pragma unroll
  for (int c0 = 0; c0 < Out; c0 += chunk) {
    float acc[chunk / 8][4] = {};
    M::template multiply<In, chunk>(x, M::template row<In>(w, c0), acc);
    typename M::Frag part[per];
    if constexpr (Hidden && M::packed_hidden) {
      M::hidden_frags(acc, bias + c0, part);
    } else {
      activate(acc, bias + c0, clamp);
      if constexpr (Rgb) dot3(acc, rgb_w + c0, Out, rgb_sum);
      M::to_frags(acc, part);
    }
#pragma unroll
    for (int f = 0; f < per; ++f) y[c0 / M::k_step + f] = part[f];
  }
}
template <class M, int In, int Out, bool Hidden = false>
__device__ __forceinline__ void dense(const typename M::Frag (&x)[In / M::k_step], const typename M::Elem* w,
                                      const float* bias, float clamp, typename M::Frag (&y)[Out / M::k_step]) {
  float unused[2][3];
  dense<M, In, Out, false, Hidden>(x, w, bias, clamp, y, nullptr, unused);
}

// A decoder, K → 2K → 4K → 2K → K with leaky ReLU·√2 after every layer and no clamp: e ← decoder(e).
// (Packed-fp16 policies: the weights of layers 2 to 4 carry the √2 of the layer before.)
template <class M, int K>
__device__ __forceinline__ void decoder(float (&e)[K / 8][4], const typename M::Elem* w, const float* bias) {
  using st = Stage<K, M::pad>;
  using Frag = typename M::Frag;
  constexpr int ks = M::k_step;
  Frag x0[K / ks], x1[2 * K / ks], x2[4 * K / ks], x3[2 * K / ks];
  M::to_frags(e, x0);
  dense<M, K, 2 * K, true>(x0, w, bias, 0.0f, x1);
  dense<M, 2 * K, 4 * K, true>(x1, w + st::d1, bias + 2 * K, 0.0f, x2);
  dense<M, 4 * K, 2 * K, true>(x2, w + st::d2, bias + 6 * K, 0.0f, x3);
#pragma unroll
  for (int n = 0; n < K / 8; ++n)
#pragma unroll
    for (int q = 0; q < 4; ++q) e[n][q] = 0;
  M::template multiply<2 * K, K>(x3, w + st::d3, e);
  activate(e, bias + 8 * K, 0.0f);
}

// e[n][q] += Σ_d U[i_h][c][d] V[j_h][c][d] for the thread's channels c = 8n + 2t + q % 2 and pixels
// h = q / 2 (SameRow: both pixels in one image row, u0 serves both). Embedding lines are (D / 4, K, 4)
// floats: 16-byte loads, four lanes t side by side.
template <int K, bool SameRow>
__device__ __forceinline__ void add_biline(float (&e)[K / 8][4], const float* u0, const float* u1, const float* v0,
                                           const float* v1, int quads) {
  const int t = threadIdx.x % 4;
  auto dot = [](float4 a, float4 b, float s) {
    return fmaf(a.w, b.w, fmaf(a.z, b.z, fmaf(a.y, b.y, fmaf(a.x, b.x, s))));
  };
  for (int dq = 0; dq < quads; ++dq) {
    const int base = dq * K * 4 + 8 * t;
#pragma unroll
    for (int n = 0; n < K / 8; ++n)
#pragma unroll
      for (int cc = 0; cc < 2; ++cc) {
        const int off = base + (n * 8 + cc) * 4;
        const float4 a0 = *reinterpret_cast<const float4*>(u0 + off);
        const float4 a1 = SameRow ? a0 : *reinterpret_cast<const float4*>(u1 + off);
        e[n][cc] = dot(a0, *reinterpret_cast<const float4*>(v0 + off), e[n][cc]);
        e[n][2 + cc] = dot(a1, *reinterpret_cast<const float4*>(v1 + off), e[n][2 + cc]);
      }
  }
}

template <class M, int K>
__global__ void __launch_bounds__(M::warps * 32, 1) pixels_kernel(PixelArgs a) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800  // tensor-core mma (render_pixels checks)
  using E = typename M::Elem;
  using Frag = typename M::Frag;
  using st = Stage<K, M::pad>;
  constexpr int ks = M::k_step, warps = M::warps, tile_pixels = warps * 16;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  E* buffers = reinterpret_cast<E*>(smem_raw);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int line = K * a.quads * 4, line_stride = line + 4;             // floats; padded in shared memory
  float* lines = reinterpret_cast<float*>(buffers + 2 * st::elements);  // 2 × (warps + 16) lines

  // The CTA's sample and the thread's two pixels: rows g (h = 0) and g + 8 (h = 1) of the warp's 16.
  std::int64_t b, pixel[2], pixels, row0 = 0, col0 = 0;
  int i[2], j[2];
  bool valid[2];
  if (a.diagonal) {
    const std::int64_t tiles = (a.width + tile_pixels - 1) / tile_pixels;
    b = blockIdx.x / tiles;
    const std::int64_t k0 = blockIdx.x % tiles * tile_pixels + warp * 16;
    pixels = a.width;
    for (int h = 0; h < 2; ++h) {
      const std::int64_t k = k0 + g + 8 * h;
      valid[h] = k < a.width;
      i[h] = j[h] = static_cast<int>(at_most(k, a.width - 1));
      pixel[h] = k;
    }
  } else {
    const std::int64_t cols = (a.width + 15) / 16, rows = (a.height + warps - 1) / warps;
    b = blockIdx.x / (rows * cols);
    const std::int64_t r = blockIdx.x % (rows * cols), row = r / cols * warps + warp;
    row0 = r / cols * warps, col0 = r % cols * 16;
    pixels = a.height * a.width;
    for (int h = 0; h < 2; ++h) {
      const std::int64_t col = col0 + g + 8 * h;
      valid[h] = row < a.height && col < a.width;
      i[h] = static_cast<int>(at_most(row, a.height - 1));
      j[h] = static_cast<int>(at_most(col, a.width - 1));
      pixel[h] = row * a.width + col;
    }
  }
  const bool staged = M::stage_lines && !a.diagonal;
  const std::int64_t u_rows = a.diagonal ? a.width : a.height;
  auto u_line = [&](int level, std::int64_t row) { return a.u + ((b * a.levels + level) * u_rows + row) * line; };
  auto v_line = [&](int level, std::int64_t col) { return a.v + ((b * a.levels + level) * a.width + col) * line; };
  // Level l's embeddings, from the staged tile (buffer `slot`) or from global memory.
  auto biline = [&](float(&e)[K / 8][4], int level, int slot) {
    if (staged) {
      const float* s = lines + slot * (warps + 16) * line_stride;
      const float* u = s + warp * line_stride;
      add_biline<K, true>(e, u, u, s + (warps + g) * line_stride, s + (warps + g + 8) * line_stride, a.quads);
    } else {
      add_biline<K, false>(e, u_line(level, i[0]), u_line(level, i[1]), v_line(level, j[0]), v_line(level, j[1]),
                           a.quads);
    }
  };
  // The tile's rows (one per warp) and its 16 columns, clamped to the image.
  auto stage_lines = [&](int level, int slot) {
    float* s = lines + slot * (warps + 16) * line_stride;
    const float* u = a.u + (b * a.levels + level) * u_rows * line;
    const float* v = a.v + (b * a.levels + level) * a.width * line;
    for (int r = warp; r < warps + 16; r += warps) {  // one warp per line, lanes along its 16-byte chunks
      const float* src =
          r < warps ? u + at_most(row0 + r, a.height - 1) * line : v + at_most(col0 + r - warps, a.width - 1) * line;
      for (int c = lane; c < line / 4; c += 32) cp_async16(s + r * line_stride + c * 4, src + c * 4);
    }
  };

  // Stages: the decoders of levels first + 1 .. levels - 1, decoder_last, block0, block1; each one's
  // weights (and the embeddings of its level) are copied into shared memory while the previous stage
  // computes. Stage s's level is first + 1 + s, in line slot (s + 1) % 2.
  const int decoders = a.levels - a.first_level, stages = decoders + 2;
  const E* block_weights = static_cast<const E*>(a.blocks) + b * a.block_stride;
  auto load_stage = [&](int s) {
    E* dst = buffers + (s % 2) * st::elements;
    if (s < decoders) {
      const E* src = static_cast<const E*>(a.decoders) + std::int64_t(s) * decoder_elements(K);
      M::template copy<2 * K, K>(dst, src);
      M::template copy<4 * K, 2 * K>(dst + st::d1, src + 2 * K * K);
      M::template copy<2 * K, 4 * K>(dst + st::d2, src + 10 * K * K);
      M::template copy<K, 2 * K>(dst + st::d3, src + 18 * K * K);
      if (staged && s + 1 < decoders) stage_lines(a.first_level + 1 + s, (s + 1) % 2);
    } else if (s == decoders) {
      M::template copy<4 * K, K>(dst, block_weights);
      M::template copy<4 * K, 4 * K>(dst + st::b1, block_weights + 4 * K * K);
    } else {
      M::template copy<2 * K, 4 * K>(dst, block_weights + 20 * K * K);
      M::template copy<2 * K, 2 * K>(dst + st::c1, block_weights + 28 * K * K);
    }
    cp_async_commit();
  };
  // Waits for stage s's copies (after queueing the next stage's) and returns its weights.
  auto enter = [&](int s) {
    if (s + 1 < stages) {
      load_stage(s + 1);
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    return static_cast<const E*>(buffers + (s % 2) * st::elements);
  };

  if (staged) stage_lines(a.first_level, 0);
  cp_async_commit();
  load_stage(0);
  cp_async_wait<1>();
  __syncthreads();
  float e[K / 8][4] = {};
  biline(e, a.first_level, 0);
  __syncthreads();  // line slot 0 is refilled by stage 1's copies
  for (int s = 0; s + 1 < decoders; ++s) {
    decoder<M, K>(e, enter(s), a.decoder_biases + std::int64_t(s) * 9 * K);
    biline(e, a.first_level + 1 + s, (s + 1) % 2);
    __syncthreads();  // the buffers are refilled two stages on
  }
  // decoder_last, and the base colour decoder_img(E).
  decoder<M, K>(e, enter(decoders - 1), a.decoder_biases + std::int64_t(decoders - 1) * 9 * K);
  __syncthreads();
  float rgb[2][3] = {{0, 0, 0}, {0, 0, 0}};
  dot3(e, a.img_weight, K, rgb);
  quad_sum(rgb);
#pragma unroll
  for (int h = 0; h < 2; ++h)
#pragma unroll
    for (int o = 0; o < 3; ++o) rgb[h][o] += __ldg(a.img_bias + o);

  // The refinement blocks: fc0, fc1 (bias, leaky ReLU·√2, clamp), then rgb += clamp(ToRes + bias).
  const float* bb = a.block_biases;
  const float* rgb_weights = a.rgb + b * a.rgb_stride;
  auto add_tores = [&](float(&y)[2][3], const float* bias) {
    quad_sum(y);
#pragma unroll
    for (int h = 0; h < 2; ++h)
#pragma unroll
      for (int o = 0; o < 3; ++o) rgb[h][o] += fminf(fmaxf(y[h][o] + __ldg(bias + o), -a.clamp), a.clamp);
  };
  Frag x1[4 * K / ks];
  {
    const E* w = enter(decoders);
    Frag x0[K / ks], h1[4 * K / ks];
    M::to_frags(e, x0);
    dense<M, K, 4 * K>(x0, w, bb, a.clamp, h1);
    float y[2][3] = {{0, 0, 0}, {0, 0, 0}};
    dense<M, 4 * K, 4 * K, true>(h1, w + st::b1, bb + 4 * K, a.clamp, x1, rgb_weights, y);
    add_tores(y, bb + 12 * K);
    __syncthreads();
  }
  {
    const E* w = enter(decoders + 1);
    Frag h1[2 * K / ks], h2[2 * K / ks];
    dense<M, 4 * K, 2 * K>(x1, w, bb + 8 * K, a.clamp, h1);
    float y[2][3] = {{0, 0, 0}, {0, 0, 0}};
    dense<M, 2 * K, 2 * K, true>(h1, w + st::c1, bb + 10 * K, a.clamp, h2, rgb_weights + 12 * K, y);
    add_tores(y, bb + 12 * K + 3);
  }
  if (t == 0)
    for (int h = 0; h < 2; ++h)
      if (valid[h])
        for (int o = 0; o < 3; ++o) a.out[(b * 3 + o) * pixels + pixel[h]] = rgb[h][o];
#endif
}

template <class M, int K>
void launch(const PixelArgs& a, cudaStream_t stream) {
  constexpr int warps = M::warps;
  const int line_bytes = M::stage_lines ? 2 * (warps + 16) * (K * a.quads * 4 + 4) * 4 : 0;
  const int smem = 2 * Stage<K, M::pad>::elements * int(sizeof(typename M::Elem)) + line_bytes;
  check_cuda(cudaFuncSetAttribute(pixels_kernel<M, K>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem), op_name,
             "cudaFuncSetAttribute");
  const std::int64_t tiles =
      a.diagonal ? (a.width + warps * 16 - 1) / (warps * 16) : (a.height + warps - 1) / warps * ((a.width + 15) / 16);
  const std::int64_t blocks = a.samples * tiles;
  pixsyn::detail::check(blocks < (std::int64_t(1) << 31), op_name, ": too many pixels in one launch (", blocks,
                        " tiles)");
  pixels_kernel<M, K><<<static_cast<unsigned>(blocks), warps * 32, smem, stream>>>(a);
  check_launch(op_name);
}

}  // namespace

}  // namespace pixsyn::backend::cuda::creps
