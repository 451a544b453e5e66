#pragma once
// Pieces shared by the fused GPU renderers (cips_fast.cu, creps_fast.cu): device buffers from the pool,
// bf16 and fp16 conversion of host weights, 8-wide vector access, the cuBLAS path's layer epilogue, and a call
// captured as a CUDA graph. Included from .cu files only.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "common.cuh"
#include "fold.cuh"
#include "gemm.cuh"
#include "half_types.cuh"
#include "pixsyn/backend/cuda/graph.hpp"
#include "pixsyn/core/philox.hpp"
#include "tf32_split.cuh"

namespace pixsyn::backend::cuda {

// Device memory from the context's pool, released on destruction.
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::size_t bytes) : bytes_(bytes), p_(bytes ? allocate(bytes) : nullptr) {}
  template <class T>
  explicit Buffer(const std::vector<T>& host) : Buffer(host.size() * sizeof(T)) {
    if (bytes_) copy_to_device(p_, host.data(), bytes_);
  }
  ~Buffer() {
    if (p_) deallocate(p_);
  }
  Buffer(Buffer&& o) noexcept : bytes_(o.bytes_), p_(o.p_) { o.p_ = nullptr, o.bytes_ = 0; }
  Buffer& operator=(Buffer&& o) noexcept {
    std::swap(bytes_, o.bytes_);
    std::swap(p_, o.p_);
    return *this;
  }
  template <class T = void>
  T* get() const {
    return static_cast<T*>(p_);
  }
  std::size_t bytes() const { return bytes_; }

 private:
  std::size_t bytes_ = 0;
  void* p_ = nullptr;
};

inline std::vector<__nv_bfloat16> to_bf16(const std::vector<float>& v) {
  std::vector<__nv_bfloat16> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = __float2bfloat16_rn(v[i]);
  return out;
}
inline std::vector<__half> to_fp16(const std::vector<float>& v) {
  std::vector<__half> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = __float2half_rn(v[i]);
  return out;
}

// Every layer's styles from one w per sample: styles (batch, rows) = w (batch, dim) · mᵀ + bias, m (rows, dim).
void compute_styles(std::int64_t batch, std::int64_t rows, std::int64_t dim, const float* m, const float* bias,
                    const float* w, float* styles, const char* op);

// Rounds n up to a multiple of m.
constexpr std::int64_t round_up(std::int64_t n, std::int64_t m) { return (n + m - 1) / m * m; }

// How a call stores its GEMM operands: 16 bits (half; bf16 for CIPS, fp16 for CREPS), fp32, or fp32 split for 3×TF32
// GEMMs (three floats a value) summed in `accumulations` passes. The fused fp32 layer (sm90/fused_layer.cuh) reads
// split weights and plain fp32 activations, which it splits itself (split_weights_only).
struct Storage {
  bool half, split;
  int accumulations;
  bool split_weights_only = false;
  std::size_t weight_bytes() const { return half ? 2 : 4; }                       // per stored weight element
  std::size_t value_bytes() const { return half ? 2 : split_values() ? 12 : 4; }  // per activation value
  bool split_values() const { return split && !split_weights_only; }
  // Elements between two samples' folded (out, in) weights, padded so that each starts 256-byte aligned.
  std::int64_t fold_stride(std::int64_t in, std::int64_t out) const {
    return round_up((split ? 3 : 1) * in * out, 128);
  }
};
inline constexpr Storage plain_fp32{false, false, 0, false};  // folds read by kernels as plain fp32

__device__ __forceinline__ float to_float(float v) { return v; }

// Eight consecutive values as one (16-bit: E = __nv_bfloat16 or __half) or two (fp32) 16-byte accesses.
__device__ __forceinline__ void load8(const float* p, float (&v)[8]) {
  const float4 a = reinterpret_cast<const float4*>(p)[0], b = reinterpret_cast<const float4*>(p)[1];
  v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
}
template <class E>
__device__ __forceinline__ void load8(const E* p, float (&v)[8]) {
  static_assert(sizeof(E) == 2, "load8: fp32 or a 16-bit type");
  const uint4 raw = *reinterpret_cast<const uint4*>(p);
  const auto* h = reinterpret_cast<const Pair16<E>*>(&raw);
  for (int k = 0; k < 4; ++k) {
    const float2 f = unpack2(h[k]);
    v[2 * k] = f.x, v[2 * k + 1] = f.y;
  }
}
__device__ __forceinline__ void store8(float* p, const float (&v)[8]) {
  reinterpret_cast<float4*>(p)[0] = make_float4(v[0], v[1], v[2], v[3]);
  reinterpret_cast<float4*>(p)[1] = make_float4(v[4], v[5], v[6], v[7]);
}
template <class E>
__device__ __forceinline__ void store8(E* p, const float (&v)[8]) {
  static_assert(sizeof(E) == 2, "store8: fp32 or a 16-bit type");
  uint4 raw;
  auto* h = reinterpret_cast<Pair16<E>*>(&raw);
  for (int k = 0; k < 4; ++k) h[k] = pack2<E>(v[2 * k], v[2 * k + 1]);
  *reinterpret_cast<uint4*>(p) = raw;
}

// The cuBLAS path's epilogue of a modulated layer over `rows` (sample, point) rows of `channels` values.
struct EpilogueArgs {
  std::int64_t rows, count, channels;  // rows = samples × count, each of `channels` values
  const float* bias;
  bool noise;
  float noise_weight;
  std::uint64_t seed, layer, sample0, first;  // noise: the global sample index; first: the tile's first point
  std::uint64_t point0;                       // noise: point p of the tile is point0 + first + p of the whole render
  const void* residual;                       // (rows, channels) shortcut, or null
  bool residual_split;                        // the shortcut is stored split (rows, 3 channels): h + r
  const float* rgb_weight;                    // (samples, 3, channels) folded ToRGB, rgb_weight_stride apart, or null
  std::int64_t rgb_weight_stride;
  const float* rgb_bias;  // (3)
  float* rgb;             // (samples, 3, rgb_stride) at the chunk's first sample
  std::int64_t rgb_stride;
  bool rgb_first, store;
  float clamp;  // > 0: the result is clamped to ±clamp after the activation (CREPS); 0: no clamp
};

// One warp per (sample, point) row: z <- f(gemm + noise·nw + bias) [clamped] [+ shortcut, /√2], and the ToRGB dot
// products reduced across the warp into the fp32 RGB sum. gemm is fp32 (in place in plain fp32 mode, a
// scratch buffer in bf16 and split modes: one rounding per layer, not two); z and the shortcut are A.
// Split: z rows are the left factor of the next 3×TF32 GEMM (3 channels floats).
template <class A, bool Split, bool Vec>
__global__ void epilogue_kernel(EpilogueArgs e, const float* gemm, A* z) {
  const float gain = static_cast<float>(1.4142135623730951), slope_gain = static_cast<float>(0.2 * 1.4142135623730951);
  const float root2 = static_cast<float>(1.4142135623730951);
  const int lane = threadIdx.x % 32;
  const std::int64_t warps = std::int64_t(gridDim.x) * (blockDim.x / 32);
  for (std::int64_t r = blockIdx.x * std::int64_t(blockDim.x / 32) + threadIdx.x / 32; r < e.rows; r += warps) {
    const std::int64_t b = r / e.count, p = r % e.count;
    float nz = 0;
    if (e.noise) {
      if (lane == 0) {
        const std::uint64_t offset = (e.layer << 56) | ((e.sample0 + b) << 40);
        nz = static_cast<float>(pixsyn::detail::philox_normal(e.seed, offset, e.point0 + e.first + p)) * e.noise_weight;
      }
      nz = __shfl_sync(0xffffffffu, nz, 0);
    }
    const float* in = gemm + r * e.channels;
    A* row = z + r * e.channels * (Split ? 3 : 1);
    const bool res_split = Split && e.residual_split;
    const A* res = e.residual ? static_cast<const A*>(e.residual) + r * e.channels * (res_split ? 3 : 1) : nullptr;
    const float* tw = e.rgb_weight ? e.rgb_weight + b * e.rgb_weight_stride : nullptr;
    float acc[3] = {0, 0, 0};
    auto apply = [&](float v, std::int64_t o, float shortcut) {
      if (e.noise) v = v + nz;
      v = v + e.bias[o];
      v = v * (v > 0 ? gain : slope_gain);
      if (e.clamp > 0) v = fminf(fmaxf(v, -e.clamp), e.clamp);
      if (res) v = (v + shortcut) / root2;
      if (tw)
        for (int c = 0; c < 3; ++c) acc[c] += v * tw[c * e.channels + o];
      return v;
    };
    if constexpr (Vec) {
      for (std::int64_t o = lane * 8; o < e.channels; o += 256) {
        float v[8], s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        load8(in + o, v);
        if (res) load8(res + o, s);
        if (res && res_split) {  // [r | h | h]: r + h is the exact value
          float t[8];
          load8(res + 2 * e.channels + o, t);
          for (int k = 0; k < 8; ++k) s[k] += t[k];
        }
        for (int k = 0; k < 8; ++k) v[k] = apply(v[k], o + k, s[k]);
        if (!e.store) continue;
        if constexpr (Split) {
          float h[8], t[8];
          for (int k = 0; k < 8; ++k) h[k] = tf32_head(v[k]), t[k] = v[k] - h[k];
          store8(row + o, t);  // [r | h | h], as store_split
          store8(row + e.channels + o, h);
          store8(row + 2 * e.channels + o, h);
        } else {
          store8(row + o, v);
        }
      }
    } else {
      for (std::int64_t o = lane; o < e.channels; o += 32) {
        float shortcut = 0;
        if (res) shortcut = to_float(res[o]) + (res_split ? to_float(res[2 * e.channels + o]) : 0.0f);
        const float v = apply(in[o], o, shortcut);
        if (!e.store) continue;
        if constexpr (Split)
          store_split(v, row, e.channels, o, SplitSide::left);
        else
          row[o] = convert_to<A>(v);
      }
    }
    if (tw) {
      for (int c = 0; c < 3; ++c)
        for (int m = 16; m > 0; m /= 2) acc[c] += __shfl_xor_sync(0xffffffffu, acc[c], m);
      if (lane == 0)
        for (int c = 0; c < 3; ++c) {
          float* dst = e.rgb + (b * 3 + c) * e.rgb_stride + e.first + p;
          const float t = acc[c] + e.rgb_bias[c];
          *dst = e.rgb_first ? t : *dst + t;
        }
    }
  }
}

// Launches the epilogue over e.rows rows: z (A = float or bf16; Split: fp32 rows stored split) from the
// fp32 GEMM result.
template <class A, bool Split>
void launch_epilogue(const EpilogueArgs& e, const float* gemm, A* z, const char* op) {
  const unsigned blocks = static_cast<unsigned>(std::min<std::int64_t>((e.rows + 7) / 8, 1 << 20));
  if (e.channels % 8 == 0)
    epilogue_kernel<A, Split, true><<<blocks, 256, 0, stream()>>>(e, gemm, z);
  else
    epilogue_kernel<A, Split, false><<<blocks, 256, 0, stream()>>>(e, gemm, z);
  check_launch(op);
}

// Rows of one sample per tile: as many as `available` bytes hold at `per_row` bytes each (per_row covers
// the chunk's samples), at most max_pixels / chunk when max_pixels > 0, at most `total`; above 64, equal
// tiles of a multiple of 64 rows (the last may be shorter).
inline std::int64_t tile_rows(std::size_t available, std::size_t per_row, std::int64_t max_pixels, std::int64_t chunk,
                              std::int64_t total) {
  std::int64_t count = static_cast<std::int64_t>(available / per_row);
  if (max_pixels > 0) count = std::min(count, std::max<std::int64_t>(1, max_pixels / chunk));
  count = std::min(count, total);
  if (count > 64) {
    const std::int64_t most = count - count % 64, tiles = (total + most - 1) / most;
    count = std::min(most, ((total + tiles - 1) / tiles + 63) / 64 * 64);
  }
  return count;
}

// A call captured as a CUDA graph and replayed while its key repeats: the key holds everything the
// recorded work depends on besides the engine's own buffers. A call that cannot be recorded runs plainly.
template <class Key>
class CapturedCall {
 public:
  void reset() { graph_.reset(); }

  // Grows `buffer` to at least `bytes`, freeing the old one first (the budget bounds the peak); the
  // captured graph, which holds the old address, is dropped.
  void reserve(Buffer& buffer, std::size_t bytes) {
    if (buffer.bytes() >= bytes) return;
    reset();
    buffer = Buffer();
    buffer = Buffer(bytes);
  }

  // Replays the graph when key equals the captured one, else records record() into a new graph first.
  template <class Record>
  void launch(const Key& key, Record&& record) {
    if (graph_.empty() || !(key == key_)) {
      if (!graph_.capture(record)) return record();
      key_ = key;
    }
    graph_.replay();
  }

 private:
  StreamGraph graph_;
  Key key_{};
};

}  // namespace pixsyn::backend::cuda
