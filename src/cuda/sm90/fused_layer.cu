// The Hopper fused layer (see fused_layer.cuh). One persistent CTA per SM: warpgroup 0 is the TMA
// producer (one thread), warpgroups 1 and 2 each own 64 rows of a 128 × tile_out<E> output tile. Tiles
// run output-tile fastest, so the tiles of a row block reuse its activations from L2; the folded weights
// of a sample (512 KiB for 512 × 512 in 16 bits) stay in L2 across its row blocks. Operands are K-major
// in 128-byte swizzled shared memory, the layout TMA's SWIZZLE_128B writes and wgmma reads. Every size
// in bytes is the same for both element sizes: a k step is one 128-byte row (64 16-bit values or 32
// floats), a stage holds 128 activation rows and 256 weight rows (fp32: 128 heads and 128 remainders),
// and the output tile is 128 rows of 512 bytes.
#include <cuda.h>
#include <cudaTypedefs.h>

#include <algorithm>
#include <type_traits>

#include "../common.cuh"
#include "../half_types.cuh"
#include "../tf32_split.cuh"
#include "fused_layer.cuh"
#include "pixsyn/core/error.hpp"
#include "pixsyn/core/philox.hpp"

namespace pixsyn::backend::cuda::sm90 {

namespace {

constexpr const char* op_name = "fused layer (sm90)";
constexpr int tile_m = 128, row_bytes = 128, stages = 3, threads = 384;
// Values of E in one k step (a 128-byte row).
template <class E>
constexpr int tile_k = row_bytes / int(sizeof(E));
constexpr int max_tile_out = int(tile_out<__half>);
constexpr int a_bytes = tile_m * row_bytes, b_bytes = max_tile_out * row_bytes, stage_bytes = a_bytes + b_bytes;
// Shared memory: the operand stages; the output tile for the TMA store (per warpgroup four blocks of 64 rows ×
// 128 bytes in 128-byte swizzle); the bias and ToRGB weights of the tile's columns and the noise of its
// rows, each for two tiles in turn; the barriers. Plus slack to align the start to 1024 bytes.
constexpr int block_bytes = 64 * row_bytes, staging_offset = stages * stage_bytes, staging_bytes = 8 * block_bytes;
constexpr int columns_offset = staging_offset + staging_bytes, columns_floats = 4 * max_tile_out;
constexpr int noise_offset = columns_offset + 2 * columns_floats * 4;
constexpr int barriers_offset = noise_offset + 2 * tile_m * 4;
constexpr int smem_bytes = barriers_offset + 2 * stages * 8 + 1024;

template <class E>
struct Params {
  std::int64_t samples, count, in, out, m_tiles, n_tiles, k_tiles, tiles;
  bool shared_x, noise;
  const float* bias;
  float noise_weight;
  std::uint64_t seed, layer, sample0, first;
  const E* residual;
  const float* rgb_weight;
  std::int64_t rgb_weight_stride;
  float* rgb_partial;
  bool store;
  float clamp;
};

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)

__device__ __forceinline__ std::uint32_t shared_address(const void* p) {
  return static_cast<std::uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void barrier_init(std::uint64_t* bar, std::uint32_t count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(shared_address(bar)), "r"(count));
}
__device__ __forceinline__ void barrier_expect(std::uint64_t* bar, std::uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(shared_address(bar)), "r"(bytes)
               : "memory");
}
__device__ __forceinline__ void barrier_arrive(std::uint64_t* bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(shared_address(bar)) : "memory");
}
// Waits until the barrier's phase of the given parity has completed.
__device__ __forceinline__ void barrier_wait(std::uint64_t* bar, std::uint32_t parity) {
  std::uint32_t done = 0;
  while (!done)
    asm volatile("{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
                 : "=r"(done)
                 : "r"(shared_address(bar)), "r"(parity)
                 : "memory");
}

// A (box) tile of a 3-D tensor map into shared memory, completing `bytes` on the barrier.
__device__ __forceinline__ void tma_load(void* dst, const CUtensorMap* map, int c0, int c1, int c2,
                                         std::uint64_t* bar) {
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%3, %4, %5}], "
      "[%2];" ::"r"(shared_address(dst)),
      "l"(reinterpret_cast<std::uint64_t>(map)), "r"(shared_address(bar)), "r"(c0), "r"(c1), "r"(c2)
      : "memory");
}

// wgmma shared-memory descriptor of a K-major operand in 128-byte swizzle: rows of 128 bytes, groups of
// 8 rows 1024 bytes apart (stride byte offset), the leading byte offset unused by this layout.
__device__ __forceinline__ std::uint64_t descriptor(const void* tile) {
  const std::uint32_t address = shared_address(tile);
  return (std::uint64_t((address & 0x3ffff) >> 4)) | (std::uint64_t(1) << 16) | (std::uint64_t(1024 >> 4) << 32) |
         (std::uint64_t(1) << 62);
}

// The output tile's block at smem → global; completion tracked by the issuing thread's bulk groups.
__device__ __forceinline__ void tma_store(const CUtensorMap* map, const void* src, int c0, int c1, int c2) {
  asm volatile("cp.async.bulk.tensor.3d.global.shared::cta.bulk_group [%0, {%2, %3, %4}], [%1];" ::"l"(
                   reinterpret_cast<std::uint64_t>(map)),
               "r"(shared_address(src)), "r"(c0), "r"(c1), "r"(c2)
               : "memory");
}
__device__ __forceinline__ void bulk_commit() { asm volatile("cp.async.bulk.commit_group;" ::: "memory"); }
// Until the earlier stores have read their shared memory (Read) or finished writing global memory.
template <bool Read>
__device__ __forceinline__ void bulk_wait() {
  if constexpr (Read)
    asm volatile("cp.async.bulk.wait_group.read 0;" ::: "memory");
  else
    asm volatile("cp.async.bulk.wait_group 0;" ::: "memory");
}
__device__ __forceinline__ void named_barrier(int id, int count) {
  asm volatile("bar.sync %0, %1;" ::"r"(id), "r"(count) : "memory");
}

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory"); }
template <int Pending>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;" ::"n"(Pending) : "memory");
}

// d (64 × 256 fp32, the warpgroup's accumulator fragment) += A (64 × 16) · B (256 × 16)ᵀ, or = when
// accumulate is 0; A and B of E (the instruction's operand type: "bf16" or "f16").
#define PIXSYN_WGMMA_M64N256K16(TYPE)                                                                                \
  asm volatile(                                                                                                      \
      "{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"                                                                  \
      "wgmma.mma_async.sync.aligned.m64n256k16.f32." TYPE "." TYPE                                                   \
      " {"                                                                                                           \
      "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "                                       \
      "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "                             \
      "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "                             \
      "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, "                             \
      "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, "                             \
      "%80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, "                             \
      "%96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, "                 \
      "%112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127"               \
      "}, %128, %129, p, 1, 1, 0, 0;\n}\n"                                                                           \
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]),  \
        "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]),       \
        "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]),      \
        "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]),      \
        "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]),      \
        "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]),      \
        "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]),      \
        "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]),      \
        "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]),      \
        "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]),      \
        "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]),      \
        "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), "+f"(d[96]),      \
        "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), "+f"(d[104]), \
        "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]),            \
        "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]),            \
        "+f"(d[119]), "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]),            \
        "+f"(d[126]), "+f"(d[127])                                                                                   \
      : "l"(a), "l"(b), "r"(accumulate))

template <class E>
__device__ __forceinline__ void wgmma_m64n256k16(float (&d)[128], std::uint64_t a, std::uint64_t b,
                                                 std::uint32_t accumulate) {
  if constexpr (std::is_same_v<E, __half>)
    PIXSYN_WGMMA_M64N256K16("f16");
  else
    PIXSYN_WGMMA_M64N256K16("bf16");
}
#undef PIXSYN_WGMMA_M64N256K16

// d (64 × 128 fp32) += A (64 × 8, TF32 in registers: a[i] is row warp·16 + lane/4 + 8(i%2), column lane%4 +
// 4(i/2)) · B (128 × 8 TF32)ᵀ, or = when accumulate is 0.
__device__ __forceinline__ void wgmma_m64n128k8_tf32(float (&d)[64], const std::uint32_t (&a)[4], std::uint64_t b,
                                                     std::uint32_t accumulate) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k8.f32.tf32.tf32 {"
      "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
      "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
      "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
      "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63"
      "}, {%64, %65, %66, %67}, %68, p, 1, 1;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]),
        "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]),
        "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]),
        "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]),
        "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]),
        "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]),
        "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]),
        "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(accumulate));
}

// Keeps the compiler from moving accesses of the accumulators across the asynchronous wgmma's issue and wait.
template <int N>
__device__ __forceinline__ void fence_registers(float (&d)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(d[i])::"memory");
}

// One stage of the fp32 kernel, issued: this warpgroup's 64 rows × 32 activations (at `rows`, swizzled)
// are split into TF32 heads and remainders (rounded to TF32 too, so that their error is unbiased), and
// d = Σ_k r_a·h_b + h_a·r_b, then + h_a·h_b, over the 32 k, with the weights' heads and remainders at
// `heads` and `heads` + 16 KiB. The caller waits for the group and promotes d; `h` and `r` must stay
// untouched until then (the tensor cores read them asynchronously).
__device__ __forceinline__ void issue_split_stage(float (&d)[64], std::uint32_t (&h)[4][4], std::uint32_t (&r)[4][4],
                                                  const unsigned char* rows, const unsigned char* heads) {
  const int warp = threadIdx.x % 128 / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
#pragma unroll
  for (int kk = 0; kk < 4; ++kk)
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      // row warp·16 + g + 8(i%2) (its position in the 8-row swizzle pattern is g), column 8kk + t + 4(i/2)
      const int row = warp * 16 + g + 8 * (i % 2), chunk = 2 * kk + i / 2;
      const float x = *reinterpret_cast<const float*>(rows + row * row_bytes + ((chunk ^ g) * 16) + 4 * t);
      const float head = tf32_head(x);
      h[kk][i] = __float_as_uint(head), r[kk][i] = __float_as_uint(tf32_head(x - head));
    }
  const std::uint64_t bh = descriptor(heads), br = descriptor(heads + b_bytes / 2);
  wgmma_fence();
#pragma unroll
  for (int kk = 0; kk < 4; ++kk)  // 8 floats = 32 bytes further along the swizzled rows
    wgmma_m64n128k8_tf32(d, r[kk], bh + 2 * kk, kk > 0);
#pragma unroll
  for (int kk = 0; kk < 4; ++kk) wgmma_m64n128k8_tf32(d, h[kk], br + 2 * kk, 1);
#pragma unroll
  for (int kk = 0; kk < 4; ++kk) wgmma_m64n128k8_tf32(d, h[kk], bh + 2 * kk, 1);
  wgmma_commit();
}

// Two neighbouring values of a row of E as floats.
template <class E>
__device__ __forceinline__ float2 load_pair(const E* p) {
  if constexpr (std::is_same_v<E, float>)
    return *reinterpret_cast<const float2*>(p);
  else
    return unpack2(*reinterpret_cast<const Pair16<E>*>(p));
}

template <class E, bool Residual, bool Rgb, bool Clamp>
__global__ void __launch_bounds__(threads, 1)
    fused_layer_kernel(const __grid_constant__ CUtensorMap x_map, const __grid_constant__ CUtensorMap w_map,
                       const __grid_constant__ CUtensorMap z_map, Params<E> p) {
  constexpr bool split = std::is_same_v<E, float>;
  constexpr int n = int(tile_out<E>), k = tile_k<E>;
  extern __shared__ unsigned char raw[];
  // 128-byte swizzling repeats every 1024 bytes: tiles start on that boundary.
  auto* smem = reinterpret_cast<unsigned char*>((reinterpret_cast<std::uintptr_t>(raw) + 1023) & ~std::uintptr_t(1023));
  auto* full = reinterpret_cast<std::uint64_t*>(smem + barriers_offset);
  std::uint64_t* empty = full + stages;
  const int group = threadIdx.x / 128;
  if (threadIdx.x == 0) {
    for (int s = 0; s < stages; ++s) barrier_init(&full[s], 1), barrier_init(&empty[s], 256);
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
  __syncthreads();

  // The producer needs few registers; the consumers hold 64 × 256 fp32 accumulators each (fp32: 2 × 64 × 128).
  if (group == 0) {  // producer
    asm volatile("setmaxnreg.dec.sync.aligned.u32 40;");
    if (threadIdx.x != 0) return;
    int stage = 0;
    std::uint32_t phase = 0;
    for (std::int64_t t = blockIdx.x; t < p.tiles; t += gridDim.x) {
      const int nt = int(t % p.n_tiles), mt = int(t / p.n_tiles % p.m_tiles), b = int(t / p.n_tiles / p.m_tiles);
      for (int kt = 0; kt < p.k_tiles; ++kt) {
        barrier_wait(&empty[stage], phase ^ 1);
        barrier_expect(&full[stage], stage_bytes);
        unsigned char* a = smem + stage * stage_bytes;
        tma_load(a, &x_map, kt * k, mt * tile_m, p.shared_x ? 0 : b, &full[stage]);
        tma_load(a + a_bytes, &w_map, kt * k, nt * n, b, &full[stage]);
        // fp32: the remainders, `in` further along the split rows (past in, the chunk reads other parts of
        // the row, which meet the activations' zero fill).
        if constexpr (split) tma_load(a + a_bytes + b_bytes / 2, &w_map, int(p.in) + kt * k, nt * n, b, &full[stage]);
        if (++stage == stages) stage = 0, phase ^= 1;
      }
    }
    return;
  }

  // consumers: warpgroup 1 takes rows 0-63 of the tile, warpgroup 2 rows 64-127
  asm volatile("setmaxnreg.inc.sync.aligned.u32 232;");
  const int half = group - 1, warp = threadIdx.x % 128 / 32, lane = threadIdx.x % 32;
  const bool leader = threadIdx.x % 128 == 0;
  const float gain = 1.4142135623730951f, slope_gain = 0.2f * 1.4142135623730951f, root2 = 1.4142135623730951f;
  unsigned char* staging = smem + staging_offset + half * (staging_bytes / 2);
  int stage = 0, parity = 0;
  std::uint32_t phase = 0;
  float d[n / 2];  // the accumulators (fp32: the promoted sums)
  // fp32 only: the tensor cores' sums of one stage, and the split activations they read.
  float chunk[split ? 64 : 1];
  std::uint32_t heads[4][4], remainders[4][4];
  for (std::int64_t t = blockIdx.x; t < p.tiles; t += gridDim.x, parity ^= 1) {
    const std::int64_t nt = t % p.n_tiles, mt = t / p.n_tiles % p.m_tiles, b = t / p.n_tiles / p.m_tiles;
    // The tile's bias and ToRGB weights into shared memory (the other half of the buffer may still be read).
    float* columns = reinterpret_cast<float*>(smem + columns_offset) + parity * columns_floats;
    for (int i = threadIdx.x - 128; i < n; i += 256) {
      const std::int64_t col = nt * n + i;
      const bool in = col < p.out;
      columns[i] = in ? p.bias[col] : 0.0f;
      if constexpr (Rgb)
        for (int c = 0; c < 3; ++c)
          columns[(c + 1) * n + i] = in ? p.rgb_weight[b * p.rgb_weight_stride + c * p.out + col] : 0.0f;
    }
    named_barrier(1, 256);

    float* noise = reinterpret_cast<float*>(smem + noise_offset) + parity * tile_m + half * 64;
    if constexpr (split)
#pragma unroll
      for (int i = 0; i < n / 2; ++i) d[i] = 0;
    int previous = 0;
    for (int kt = 0; kt < p.k_tiles; ++kt) {
      barrier_wait(&full[stage], phase);
      const unsigned char* a = smem + stage * stage_bytes;
      if constexpr (split) {
        issue_split_stage(chunk, heads, remainders, a + half * 64 * row_bytes, a + a_bytes);
      } else {
        const std::uint64_t da = descriptor(a + half * 64 * row_bytes), db = descriptor(a + a_bytes);
        wgmma_fence();
#pragma unroll
        for (int kk = 0; kk < k / 16; ++kk)  // 16 values = 32 bytes further along the swizzled rows
          wgmma_m64n256k16<E>(d, da + 2 * kk, db + 2 * kk, kt > 0 || kk > 0);
        wgmma_commit();
      }
      // While the tensor cores work: the noise of the warpgroup's 64 rows, one per thread.
      if (kt == 0 && p.noise && threadIdx.x % 128 < 64) {
        const std::int64_t r = mt * tile_m + half * 64 + threadIdx.x % 128;
        noise[threadIdx.x % 128] =
            r < p.count
                ? float(pixsyn::detail::philox_normal(p.seed, (p.layer << 56) | ((p.sample0 + b) << 40), p.first + r)) *
                      p.noise_weight
                : 0.0f;
      }
      if constexpr (split) {  // the stage's sums promoted into the fp32 accumulators; its stage may be refilled
        wgmma_wait<0>();
        fence_registers(chunk);
        barrier_arrive(&empty[stage]);
#pragma unroll
        for (int i = 0; i < 64; ++i) d[i] += chunk[i];
      } else if (kt > 0) {  // the previous k step is done: its stage may be refilled
        wgmma_wait<1>();
        barrier_arrive(&empty[previous]);
      }
      previous = stage;
      if (++stage == stages) stage = 0, phase ^= 1;
    }
    if constexpr (!split) {
      wgmma_wait<0>();
      fence_registers(d);
      barrier_arrive(&empty[previous]);
    }
    if (p.noise) named_barrier(2 + half, 128);
    const float row_noise[2] = {p.noise ? noise[warp * 16 + lane / 4] : 0.0f,
                                p.noise ? noise[warp * 16 + lane / 4 + 8] : 0.0f};

    // Fragment layout: d[4j + 2h + e] is row warp·16 + lane/4 + 8h, column 8j + 2(lane%4) + e of the
    // warpgroup's 64 × n block.
    float rgb[2][3] = {{0, 0, 0}, {0, 0, 0}};
#pragma unroll
    for (int j = 0; j < n / 8; ++j)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int col = 8 * j + 2 * (lane % 4);
        const float2 bias = *reinterpret_cast<const float2*>(columns + col);
        float2 shortcut = {0, 0};
        if constexpr (Residual) {
          const std::int64_t r = mt * tile_m + half * 64 + warp * 16 + lane / 4 + 8 * h;
          if (r < p.count && nt * n + col < p.out)
            shortcut = load_pair(p.residual + (b * p.count + r) * p.out + nt * n + col);
        }
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          float v = d[4 * j + 2 * h + e] + row_noise[h];
          v = v + (e ? bias.y : bias.x);
          v = v * (v > 0 ? gain : slope_gain);
          if constexpr (Clamp) v = fminf(fmaxf(v, -p.clamp), p.clamp);
          if constexpr (Residual) v = (v + (e ? shortcut.y : shortcut.x)) / root2;
          if constexpr (Rgb)
            for (int c = 0; c < 3; ++c) rgb[h][c] += v * columns[(c + 1) * n + col + e];
          d[4 * j + 2 * h + e] = v;
        }
      }
    if constexpr (Rgb) {
      const std::int64_t rows = p.samples * p.count;
      for (int h = 0; h < 2; ++h) {
        for (int c = 0; c < 3; ++c)
          for (int m = 1; m < 4; m *= 2) rgb[h][c] += __shfl_xor_sync(0xffffffffu, rgb[h][c], m);
        const std::int64_t r = mt * tile_m + half * 64 + warp * 16 + lane / 4 + 8 * h;
        if (r < p.count && lane % 4 == 0)
          for (int c = 0; c < 3; ++c) p.rgb_partial[(nt * rows + b * p.count + r) * 3 + c] = rgb[h][c];
      }
    }
    if (p.store) {
      // The values into the staging blocks (k columns each, row r's 16-byte chunk c at chunk c ^ (r % 8): the
      // layout the SWIZZLE_128B store reads, and free of bank conflicts), once the previous tile's
      // store has read them; then one thread stores the blocks that hold columns below out.
      if (leader) bulk_wait<true>();
      named_barrier(2 + half, 128);
#pragma unroll
      for (int j = 0; j < n / 8; ++j)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int r = warp * 16 + lane / 4 + 8 * h, col = 8 * j + 2 * (lane % 4);
          constexpr int size = int(sizeof(E));
          const int offset =
              (col / k) * block_bytes + r * row_bytes + ((((col % k) * size / 16) ^ (r % 8)) * 16) + (col * size) % 16;
          const float v0 = d[4 * j + 2 * h], v1 = d[4 * j + 2 * h + 1];
          if constexpr (split)
            *reinterpret_cast<float2*>(staging + offset) = make_float2(v0, v1);
          else
            *reinterpret_cast<Pair16<E>*>(staging + offset) = pack2<E>(v0, v1);
        }
      asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
      named_barrier(2 + half, 128);
      if (leader) {
        for (int block = 0; block < 4; ++block)
          if (nt * n + block * k < p.out)
            tma_store(&z_map, staging + block * block_bytes, int(nt * n) + block * k, int(mt * tile_m) + half * 64,
                      int(b));
        bulk_commit();
      }
    }
  }
  if (leader) bulk_wait<false>();
}

#else

// What the host pass sees (the device code exists for sm_90a only); launched only where available().
template <class E, bool Residual, bool Rgb, bool Clamp>
__global__ void fused_layer_kernel(const __grid_constant__ CUtensorMap, const __grid_constant__ CUtensorMap,
                                   const __grid_constant__ CUtensorMap, Params<E>) {}

#endif

PFN_cuTensorMapEncodeTiled_v12000 encode_function() {
  static const PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
    void* f = nullptr;
    cudaDriverEntryPointQueryResult found{};
    check_cuda(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &found),
               op_name, "cudaGetDriverEntryPointByVersion(cuTensorMapEncodeTiled)");
    pixsyn::detail::check(found == cudaDriverEntryPointSuccess && f != nullptr, op_name,
                          ": the CUDA driver has no cuTensorMapEncodeTiled (a driver for CUDA 12 or newer is needed)");
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(f);
  }();
  return fn;
}

// A 3-D tensor of E (inner, rows, planes), rows `inner` apart and planes plane_stride elements apart, in
// boxes of one 128-byte row by box_rows.
template <class E>
CUtensorMap tensor_map(const E* base, std::int64_t inner, std::int64_t rows, std::int64_t planes,
                       std::int64_t plane_stride, int box_rows) {
  CUtensorMap map{};
  const cuuint64_t dims[3] = {cuuint64_t(inner), cuuint64_t(rows), cuuint64_t(planes)};
  const cuuint64_t strides[2] = {cuuint64_t(inner) * sizeof(E), cuuint64_t(plane_stride) * sizeof(E)};
  const cuuint32_t box[3] = {cuuint32_t(tile_k<E>), cuuint32_t(box_rows), 1}, unit[3] = {1, 1, 1};
  const CUtensorMapDataType type = std::is_same_v<E, float>    ? CU_TENSOR_MAP_DATA_TYPE_FLOAT32
                                   : std::is_same_v<E, __half> ? CU_TENSOR_MAP_DATA_TYPE_FLOAT16
                                                               : CU_TENSOR_MAP_DATA_TYPE_BFLOAT16;
  const CUresult r = encode_function()(&map, type, 3, const_cast<E*>(base), dims, strides, box, unit,
                                       CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                                       CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  pixsyn::detail::check(r == CUDA_SUCCESS, op_name, ": cuTensorMapEncodeTiled failed (error ", int(r), ") for a (",
                        planes, ", ", rows, ", ", inner, ") tensor");
  return map;
}

// The kernel for a layer's epilogue: clamped (CREPS), or with or without residual and ToRGB (CIPS).
template <class E>
auto kernel_for(bool clamp, bool residual, bool rgb) {
  return clamp      ? fused_layer_kernel<E, false, false, true>
         : residual ? (rgb ? fused_layer_kernel<E, true, true, false> : fused_layer_kernel<E, true, false, false>)
                    : (rgb ? fused_layer_kernel<E, false, true, false> : fused_layer_kernel<E, false, false, false>);
}

// Lets every kernel of E take smem_bytes of dynamic shared memory.
template <class E>
void allow_shared_memory() {
  for (int variant = 0; variant < 5; ++variant)
    check_cuda(cudaFuncSetAttribute(kernel_for<E>(variant == 4, variant & 1, variant & 2),
                                    cudaFuncAttributeMaxDynamicSharedMemorySize, smem_bytes),
               op_name, "cudaFuncSetAttribute");
}

}  // namespace

bool available() {
  static const bool ok = [] {
    const int device = Context::instance().device();
    int major = 0, minor = 0;
    check_cuda(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), op_name,
               "cudaDeviceGetAttribute");
    check_cuda(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device), op_name,
               "cudaDeviceGetAttribute");
    if (major != 9 || minor != 0) return false;
    allow_shared_memory<__nv_bfloat16>();
    allow_shared_memory<__half>();
    allow_shared_memory<float>();
    return true;
  }();
  return ok;
}

template <class E>
void fused_layer(const FusedLayer<E>& l, cudaStream_t stream) {
  pixsyn::detail::check(l.in % 8 == 0 && l.out % 8 == 0 && l.in > 0 && l.out > 0, op_name,
                        ": channel counts must be positive multiples of 8 (in ", l.in, ", out ", l.out, ")");
  pixsyn::detail::check(l.samples > 0 && l.count > 0, op_name, ": nothing to compute (samples ", l.samples, ", points ",
                        l.count, ")");
  pixsyn::detail::check(available(), op_name, ": this GPU is not compute capability 9.0");
  constexpr std::int64_t n = tile_out<E>, split = std::is_same_v<E, float> ? 3 : 1;
  const CUtensorMap x = tensor_map(l.x, l.in, l.count, l.shared_x ? 1 : l.samples, l.count * l.in, tile_m);
  const CUtensorMap w = tensor_map(l.weight, split * l.in, l.out, l.samples, l.weight_stride, int(n));
  // Without a store the output map is never used; it describes the input then, which is always valid.
  const CUtensorMap z = l.z ? tensor_map(l.z, l.out, l.count, l.samples, l.count * l.out, 64) : x;
  Params<E> p{l.samples,
              l.count,
              l.in,
              l.out,
              (l.count + tile_m - 1) / tile_m,
              (l.out + n - 1) / n,
              (l.in + tile_k<E> - 1) / tile_k<E>,
              0,
              l.shared_x,
              l.noise,
              l.bias,
              l.noise_weight,
              l.seed,
              l.layer,
              l.sample0,
              l.first,
              l.residual,
              l.rgb_weight,
              l.rgb_weight_stride,
              l.rgb_partial,
              l.z != nullptr,
              l.clamp};
  p.tiles = l.samples * p.m_tiles * p.n_tiles;
  static const int sms = [] {
    int n = 0;
    check_cuda(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, Context::instance().device()), op_name,
               "cudaDeviceGetAttribute");
    return n;
  }();
  const auto blocks = static_cast<unsigned>(std::min<std::int64_t>(p.tiles, sms));
  const bool residual = l.residual != nullptr, rgb = l.rgb_weight != nullptr;
  pixsyn::detail::check(l.clamp == 0 || (!residual && !rgb && !l.noise), op_name,
                        ": a clamped layer has no noise, residual or ToRGB");
  kernel_for<E>(l.clamp > 0, residual, rgb)<<<blocks, threads, smem_bytes, stream>>>(x, w, z, p);
  check_launch(op_name);
}

template void fused_layer(const FusedLayer<__nv_bfloat16>&, cudaStream_t);
template void fused_layer(const FusedLayer<__half>&, cudaStream_t);
template void fused_layer(const FusedLayer<float>&, cudaStream_t);

}  // namespace pixsyn::backend::cuda::sm90
