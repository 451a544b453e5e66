// The per-pixel CREPS kernel on Hopper's wgmma (sm_90a; see creps_pixels_kernel.cuh): each warpgroup's 64
// pixels go through a layer as m64nNk16 tiles with the activations as the A operand straight from registers
// and the weights read by the tensor cores from shared memory, so the weights cost one shared-memory read
// per 64 pixels instead of one per 16 (mma.sync), and a whole k step is one instruction.
#include "../creps_pixels_kernel.cuh"
#include "creps_pixels.cuh"

namespace pixsyn::backend::cuda::creps {

namespace {

// Weights as 8 × 8 core matrices (8 rows of 16 bytes, 128 contiguous bytes), K-major: core matrix
// (n / 8, k / 8) of an (out, in) matrix at ((n / 8) · (in / 8) + k / 8) · 128 bytes, wgmma's layout without
// swizzling. Eight rows at a time are contiguous, so row r (a multiple of 8) starts at r · in.
struct CoreLayout {
  static constexpr int pad = 0;
  template <int Rows, int In>
  __device__ static void copy(__half* dst, const __half* src) {
    copy_matrix<Rows, In>(dst, src, [](int r, int c) { return ((r / 8) * (In / 8) + c) * 64 + (r % 8) * 8; });
  }
  template <int In>
  __device__ static const __half* row(const __half* w, int r) {
    return w + r * In;
  }
};

struct Wgmma16 : Half16Frags, CoreLayout {
  static constexpr int warps = 16, chunk = 32;
  static constexpr bool stage_lines = true;

  // A shared-memory matrix descriptor without swizzling: core matrices 128 bytes apart along K (leading
  // byte offset) and `stride` bytes apart along N (stride byte offset).
  __device__ static std::uint64_t descriptor(std::uint32_t address, std::uint32_t stride) {
    return std::uint64_t((address & 0x3ffff) >> 4) | (std::uint64_t(128 >> 4) << 16) |
           (std::uint64_t(stride >> 4) << 32);
  }

  // d (the warpgroup's 64 × N fp32 accumulators) += a (64 × 16, from registers) · B (N × 16 at descriptor b)ᵀ.
  template <int N>
  __device__ static void wgmma(float (&d)[N / 8][4], const Frag& a, std::uint64_t b) {
    static_assert(N == 16 || N == 32 || N == 64, "wgmma tile width");
    if constexpr (N == 64) {
      asm volatile(
          "{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
          "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, "
          "%13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, {%32, %33, "
          "%34, %35}, %36, p, 1, 1, 0;\n}\n"
          : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]),
            "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), "+f"(d[3][0]), "+f"(d[3][1]),
            "+f"(d[3][2]), "+f"(d[3][3]), "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]),
            "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]),
            "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3])
          : "r"(a.r[0]), "r"(a.r[1]), "r"(a.r[2]), "r"(a.r[3]), "l"(b));
    } else if constexpr (N == 32) {
      asm volatile(
          "{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
          "wgmma.mma_async.sync.aligned.m64n32k16.f32.f16.f16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, "
          "%13, %14, %15}, {%16, %17, %18, %19}, %20, p, 1, 1, 0;\n}\n"
          : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]),
            "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), "+f"(d[3][0]), "+f"(d[3][1]),
            "+f"(d[3][2]), "+f"(d[3][3])
          : "r"(a.r[0]), "r"(a.r[1]), "r"(a.r[2]), "r"(a.r[3]), "l"(b));
    } else {
      asm volatile(
          "{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
          "wgmma.mma_async.sync.aligned.m64n16k16.f32.f16.f16 {%0, %1, %2, %3, %4, %5, %6, %7}, {%8, %9, %10, %11}, "
          "%12, p, 1, 1, 0;\n}\n"
          : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]),
            "+f"(d[1][3])
          : "r"(a.r[0]), "r"(a.r[1]), "r"(a.r[2]), "r"(a.r[3]), "l"(b));
    }
  }

  // acc (the warpgroup's 64 × Out) += x (64 × In) · wᵀ, w (Out, In) in core matrices; x per warp.
  template <int In, int Out>
  __device__ static void multiply(const Frag (&x)[In / 16], const Elem* w, float (&acc)[Out / 8][4]) {
    const std::uint32_t base = shared_address(w);
    asm volatile("wgmma.fence.sync.aligned;" ::: "memory");
#pragma unroll
    for (int kb = 0; kb < In / 16; ++kb) wgmma<Out>(acc, x[kb], descriptor(base + kb * 256, In / 8 * 128));
    asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory");
    asm volatile("wgmma.wait_group.sync.aligned 0;" ::: "memory");
  }
};

}  // namespace

void sm90::render_pixels(const PixelArgs& a, std::int64_t channels, cudaStream_t stream) {
  channels == 32 ? launch<Wgmma16, 32>(a, stream) : launch<Wgmma16, 16>(a, stream);
}

}  // namespace pixsyn::backend::cuda::creps
