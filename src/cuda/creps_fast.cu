// The fused CREPS inference engine (see include/pixsyn/backend/cuda/creps_fast.hpp). Per render call: one
// kernel gives every modulated layer's styles from its w; then per chunk of samples the styles are folded
// into per-sample weights, the bi-line path runs over tiles of (point, slot) rows (input encoding, the wide
// modulated layers, per level the ToRes GEMM and the accumulation into U_r and V_r), and the per-pixel
// kernel (creps_pixels.cu) turns the embeddings into RGB. The whole call is captured as a CUDA graph and
// replayed while the same call repeats. The 16-bit mode (Precision::bf16) stores every 16-bit operand as
// fp16: its 10-bit mantissa is 8× finer than bf16's, and the values stay far inside its range (the fc
// layers clamp to ±256, demodulated weights are at most 1); bf16 operands in the bi-line path alone put
// thick4_scaled32 at 1.3e-2 of the CPU render (tests/models/test_creps_gpu_numerics.cpp).
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "common.cuh"
#include "creps_pixels.cuh"
#include "fast_render.cuh"
#include "fold.cuh"
#include "gemm.cuh"
#include "pixsyn/backend/cuda/creps_fast.hpp"
#include "pixsyn/backend/cuda/split_gemm.hpp"
#include "pixsyn/core/error.hpp"
#include "tf32_split.cuh"
#if PIXSYN_CUDA_SM90
#include "sm90/fused_layer.cuh"
#endif

namespace pixsyn::backend::cuda {

namespace {

constexpr const char* op_name = "creps fast render";
using f16 = __half;

// styles[b, r] = Σ_k m[r, k] · w_b[index[r], k] + bias[r] for every style row r of every layer. One warp per
// row: the row stays in L1 while the warp visits the samples.
__global__ void styles_kernel(std::int64_t batch, std::int64_t rows, std::int64_t dim, const float* m,
                              const float* bias, const int* index, const float* ws, std::int64_t sample_stride,
                              std::int64_t ws_stride, float* styles) {
  const int lane = threadIdx.x % 32;
  const std::int64_t warps = std::int64_t(gridDim.x) * (blockDim.x / 32);
  for (std::int64_t r = blockIdx.x * std::int64_t(blockDim.x / 32) + threadIdx.x / 32; r < rows; r += warps) {
    const float* row = m + r * dim;
    const float* w = ws + index[r] * ws_stride;
    for (std::int64_t b = 0; b < batch; ++b) {
      float acc = 0;
      for (std::int64_t k = lane; k < dim; k += 32) acc = fmaf(row[k], w[b * sample_stride + k], acc);
      for (int o = 16; o > 0; o /= 2) acc += __shfl_xor_sync(0xffffffffu, acc, o);
      if (lane == 0) styles[b * rows + r] = acc + bias[r];
    }
  }
}

// The input encoding's per-sample scale, slot-major: scale[b, m, c] = weight[c, m] · a_b[c, m] (m < 2D).
__global__ void input_scale_kernel(std::int64_t samples, std::int64_t channels, std::int64_t slots, const float* weight,
                                   const float* styles, std::int64_t style_stride, float* scale) {
  PIXSYN_GRID_STRIDE(t, samples * channels * slots) {
    const std::int64_t c = t % channels, m = t / channels % slots, b = t / (channels * slots);
    scale[t] = weight[c * slots + m] * styles[b * style_stride + c * slots + m];
  }
}

// Bi-line rows: the row points' slots 0 .. D - 1, then the column points' slots D .. 2D - 1; row
// first + q is slot (point < height ? 0 : D) + (first + q) % D of point (first + q) / D.
struct InputArgs {
  std::int64_t samples, first, count, channels, rank, height;
  const float *rows, *cols, *freqs, *scale;
};

// Values c and c + 1 of a row of n (8-byte aligned for fp32, 4-byte for fp16); Split: of a row stored
// split as the left factor of a 3×TF32 GEMM (3 n floats).
template <bool Split>
__device__ __forceinline__ void store2(float* row, std::int64_t n, std::int64_t c, float a, float b) {
  if constexpr (Split) {
    store_split(a, row, n, c, SplitSide::left);
    store_split(b, row, n, c + 1, SplitSide::left);
  } else {
    *reinterpret_cast<float2*>(row + c) = make_float2(a, b);
  }
}
template <bool Split>
__device__ __forceinline__ void store2(f16* row, std::int64_t, std::int64_t c, float a, float b) {
  *reinterpret_cast<__half2*>(row + c) = __floats2half2_rn(a, b);
}

// x0[b, q, c] = sin(2π t f[c' D + d] (+ π/2 for the cos half)) · scale[b, m, c] · (1/√C), as b4.input (the
// official code divides by √C, which PyTorch computes as this product on the GPU). One warp per bi-line
// row, each lane two neighbouring channels at a time; the encoding is computed once for all samples.
template <class A, bool Split>
__global__ void input_kernel(InputArgs f, A* out) {
  const float two_pi = 6.28318530717958647692f, half_pi = 1.57079632679489661923f;
  const float inverse_root = static_cast<float>(1 / sqrt(static_cast<double>(f.channels)));
  const int lane = threadIdx.x % 32;
  const std::int64_t warps = std::int64_t(gridDim.x) * (blockDim.x / 32), half = f.channels / 2;
  for (std::int64_t q = blockIdx.x * std::int64_t(blockDim.x / 32) + threadIdx.x / 32; q < f.count; q += warps) {
    const std::int64_t row = f.first + q, point = row / f.rank, d = row % f.rank;
    const bool column = point >= f.height;
    const float t = column ? f.cols[point - f.height] : f.rows[point];
    const std::int64_t m = (column ? f.rank : 0) + d;
    auto encode = [&](std::int64_t c) {
      const bool cosine = c >= half;
      const float theta = (t * f.freqs[(cosine ? c - half : c) * f.rank + d]) * two_pi;
      return sinf(cosine ? theta + half_pi : theta);
    };
    for (std::int64_t c = 2 * lane; c < f.channels; c += 64) {  // channels is even
      const float e0 = encode(c), e1 = encode(c + 1);
      for (std::int64_t b = 0; b < f.samples; ++b) {
        const float2 s = *reinterpret_cast<const float2*>(f.scale + (b * 2 * f.rank + m) * f.channels + c);
        store2<Split>(out + (b * f.count + q) * f.channels * (Split ? 3 : 1), f.channels, c, e0 * s.x * inverse_root,
                      e1 * s.y * inverse_root);
      }
    }
  }
}

struct ToresArgs {
  std::int64_t samples, first, count, channels, rank, quads, height, width, levels, level;
  const float* bias;
  float clamp;
};

// S (+)= clamp(ToRes + bias) for a tile of bi-line rows (the accumulated bi-line, level 0 starts it), and
// 0.5^½ · S into the level's row embedding U (samples, levels, height, D / 4, K, 4) or column embedding V.
__global__ void tores_kernel(ToresArgs t, const float* gemm, float* sum, float* u, float* v) {
  const float root_half = 0.70710678118654752440f;
  PIXSYN_GRID_STRIDE(x, t.samples * t.count * t.channels) {
    const std::int64_t k = x % t.channels, q = x / t.channels % t.count, b = x / (t.channels * t.count);
    float s = fminf(fmaxf(gemm[x] + t.bias[k], -t.clamp), t.clamp);
    if (t.level > 0) s = sum[x] + s;
    sum[x] = s;
    const std::int64_t row = t.first + q, point = row / t.rank, d = row % t.rank;
    const std::int64_t plane = b * t.levels + t.level, slot = (d / 4 * t.channels + k) * 4 + d % 4;
    const std::int64_t line = t.quads * t.channels * 4;
    if (point < t.height)
      u[(plane * t.height + point) * line + slot] = s * root_half;
    else
      v[(plane * t.width + point - t.height) * line + slot] = s * root_half;
  }
}

struct DeviceLayer {
  std::int64_t in, out, style_row;
  Buffer weight, bias;
};

// What a captured graph depends on besides the engine's own buffers.
using GraphKey = std::tuple<const float*, std::int64_t, bool, std::int64_t, std::int64_t, bool, float*, int,
                            std::size_t, std::int64_t, bool, int>;

void check_linear(const LinearLayer& l, std::int64_t in, std::int64_t out, const char* name) {
  pixsyn::detail::check(
      l.in == in && l.out == out && l.weight.size() == std::size_t(in * out) && l.bias.size() == std::size_t(out),
      "creps fast path: ", name, " is (", l.out, ", ", l.in, "); expected (", out, ", ", in, ")");
}

}  // namespace

struct CrepsEngine::Impl {
  std::int64_t style_dim, k, rank, quads, input_channels, levels, max_width = 0, style_rows = 0;
  float clamp;
  std::vector<int> style_index;  // per style row: which w drives it
  std::vector<float> modulation_host, modulation_bias_host;
  Buffer modulation, modulation_bias, style_index_device, freqs, input_weight;
  std::vector<DeviceLayer> fcs, tores, blocks, block_tores;
  std::int64_t decoder_count = 0;
  Buffer decoders32, decoders16, decoder_biases, img_weight, img_bias, block_biases;
  std::int64_t block_stride = 0, rgb_stride = 0;

  // Per-call state, kept between calls so that a repeated call replays its graph.
  Buffer ws, rows, cols, styles, workspace;
  CapturedCall<GraphKey> graph;

  std::int64_t num_ws() const { return 2 * levels + 3; }

  DeviceLayer upload(const ModulatedLayer& l, int ws_index) {
    pixsyn::detail::check(l.in > 0 && l.out > 0 && l.weight.size() == std::size_t(l.in * l.out) &&
                              l.modulation.size() == std::size_t(l.in * style_dim) &&
                              l.modulation_bias.size() == std::size_t(l.in) && l.bias.size() == std::size_t(l.out),
                          "creps fast path: layer weights of the wrong size (in ", l.in, ", out ", l.out, ")");
    add_styles(l.modulation, l.modulation_bias, ws_index);
    return {l.in, l.out, style_rows - l.in, Buffer(l.weight), Buffer(l.bias)};
  }
  void add_styles(const std::vector<float>& m, const std::vector<float>& bias, int ws_index) {
    modulation_host.insert(modulation_host.end(), m.begin(), m.end());
    modulation_bias_host.insert(modulation_bias_host.end(), bias.begin(), bias.end());
    style_index.insert(style_index.end(), bias.size(), ws_index);
    style_rows += static_cast<std::int64_t>(bias.size());
  }

  // How this call stores the bi-line path's GEMM operands; fp32 is split for 3×TF32 GEMMs where the GPU
  // has TF32 tensor cores (split_gemm.hpp) and tf32_split > 0.
  static Storage storage(const CrepsRenderOptions& o) {
    const bool half = o.precision == Precision::bf16;
    const bool split = !half && o.tf32_split > 0 && Context::instance().compute_capability() >= 80;
    return {half, split, split ? o.tf32_split : 0};
  }
  // Elements of one sample's folded wide layers and ToRes.
  std::int64_t fold_elements(const Storage& st) const {
    std::int64_t n = 0;
    for (const auto* ls : {&fcs, &tores})
      for (const auto& l : *ls) n += st.fold_stride(l.in, l.out);
    return n;
  }

  // Whether this call runs the wide layers as fused Hopper kernels (sm90/fused_layer.cuh).
  bool fused(const CrepsRenderOptions& o) const {
    if (o.precision != Precision::bf16 || !o.fused_layers || !fused_layers_supported()) return false;
    return std::all_of(fcs.begin(), fcs.end(), [](const DeviceLayer& l) { return l.in % 8 == 0 && l.out % 8 == 0; });
  }

  void run(const float* ws_in, std::int64_t batch, bool per_layer, std::int64_t height, std::int64_t width,
           bool diagonal, float* out, const CrepsRenderOptions& o);
  void record(std::int64_t batch, bool per_layer, std::int64_t height, std::int64_t width, bool diagonal, float* out,
              const CrepsRenderOptions& o, const Storage& st, bool fused, std::int64_t chunk, std::int64_t count);
};

CrepsEngine::CrepsEngine(const CrepsWeights& wt) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.style_dim = wt.style_dim, m.k = wt.channels, m.rank = wt.rank, m.input_channels = wt.input_channels;
  m.quads = (wt.rank + 3) / 4;
  m.clamp = wt.clamp;
  m.levels = static_cast<std::int64_t>(wt.tores.size());
  const std::int64_t k = m.k, c = m.input_channels, slots = 2 * wt.rank;
  pixsyn::detail::check(creps::pixels_supported(k), "creps fast path: ", k,
                        " bi-line channels are not supported (16 or 32 are)");
  pixsyn::detail::check(wt.style_dim > 0 && wt.rank > 0 && c > 0 && c % 2 == 0, "creps fast path: bad sizes (style ",
                        wt.style_dim, ", rank ", wt.rank, ", input channels ", c, ")");
  pixsyn::detail::check(m.levels > 0 && wt.fcs.size() == std::size_t(2 * m.levels + 1),
                        "creps fast path: ", wt.fcs.size(), " fc layers and ", wt.tores.size(),
                        " ToRes layers (expected 2 per level + 1)");
  pixsyn::detail::check(wt.decoders.empty() || wt.decoders.size() == std::size_t(m.levels - 1),
                        "creps fast path: ", wt.decoders.size(), " decoders for ", m.levels, " levels (expected ",
                        m.levels - 1, " or none)");
  pixsyn::detail::check(wt.freqs.size() == std::size_t(c / 2 * wt.rank) &&
                            wt.input_weight.size() == std::size_t(c * slots) &&
                            wt.input_modulation.size() == std::size_t(c * slots * wt.style_dim) &&
                            wt.input_modulation_bias.size() == std::size_t(c * slots),
                        "creps fast path: input encoding weights of the wrong size");

  // Style rows in the order of the official ws: input ws[0], b4.fc1 ws[1], level l: fc0, fc1, ToRes
  // ws[2l + 1 .. 2l + 3], the refinement blocks the last.
  m.add_styles(wt.input_modulation, wt.input_modulation_bias, 0);
  m.freqs = Buffer(wt.freqs), m.input_weight = Buffer(wt.input_weight);
  std::int64_t width = c;
  auto add_fc = [&](const ModulatedLayer& l, int ws_index) {
    pixsyn::detail::check(l.in == width, "creps fast path: fc layer ", m.fcs.size(), " takes ", l.in,
                          " channels after ", width);
    m.fcs.push_back(m.upload(l, ws_index));
    width = l.out;
    m.max_width = std::max(m.max_width, width);
  };
  m.max_width = c;
  add_fc(wt.fcs[0], 1);
  for (std::int64_t l = 0; l < m.levels; ++l) {
    add_fc(wt.fcs[1 + 2 * l], static_cast<int>(2 * l + 1));
    add_fc(wt.fcs[2 + 2 * l], static_cast<int>(2 * l + 2));
    const auto& t = wt.tores[l];
    pixsyn::detail::check(t.in == width && t.out == k, "creps fast path: ToRes ", l, " is (", t.out, ", ", t.in,
                          "); expected (", k, ", ", width, ")");
    m.tores.push_back(m.upload(t, static_cast<int>(2 * l + 3)));
  }

  // The per-pixel weights: decoders (levels 1 .. L - 1, then decoder_last) in fp32 and fp16, their biases,
  // decoder_img, and the refinement blocks (folded per call) with their biases.
  std::vector<const std::array<LinearLayer, 4>*> decoders;
  for (const auto& d : wt.decoders) decoders.push_back(&d);
  decoders.push_back(&wt.decoder_last);
  m.decoder_count = static_cast<std::int64_t>(decoders.size());
  // In fp16 the √2 gain of hidden layers 1 to 3 moves into the weights of layers 2 to 4 (creps_pixels.cuh).
  std::vector<float> dw, dw16, db;
  const std::int64_t widths[5] = {k, 2 * k, 4 * k, 2 * k, k};
  for (const auto* d : decoders)
    for (int i = 0; i < 4; ++i) {
      const auto& l = (*d)[i];
      check_linear(l, widths[i], widths[i + 1], "a decoder layer");
      dw.insert(dw.end(), l.weight.begin(), l.weight.end());
      const float gain = i > 0 ? static_cast<float>(std::sqrt(2.0)) : 1.0f;
      for (float v : l.weight) dw16.push_back(v * gain);
      db.insert(db.end(), l.bias.begin(), l.bias.end());
    }
  m.decoders32 = Buffer(dw), m.decoders16 = Buffer(to_fp16(dw16)), m.decoder_biases = Buffer(db);
  check_linear(wt.decoder_img, k, 3, "decoder_img");
  m.img_weight = Buffer(wt.decoder_img.weight), m.img_bias = Buffer(wt.decoder_img.bias);

  const int last = static_cast<int>(m.num_ws() - 1);
  const std::int64_t block_in[4] = {k, 4 * k, 4 * k, 2 * k}, block_out[4] = {4 * k, 4 * k, 2 * k, 2 * k};
  const ModulatedLayer* block_fcs[4] = {&wt.block0[0], &wt.block0[1], &wt.block1[0], &wt.block1[1]};
  std::vector<float> bb;
  for (int i = 0; i < 4; ++i) {
    pixsyn::detail::check(block_fcs[i]->in == block_in[i] && block_fcs[i]->out == block_out[i],
                          "creps fast path: refinement layer ", i, " is (", block_fcs[i]->out, ", ", block_fcs[i]->in,
                          "); expected (", block_out[i], ", ", block_in[i], ")");
    m.blocks.push_back(m.upload(*block_fcs[i], last));
    bb.insert(bb.end(), block_fcs[i]->bias.begin(), block_fcs[i]->bias.end());
  }
  for (const auto* t : {&wt.block0[2], &wt.block1[2]}) {
    pixsyn::detail::check(t->out == 3 && t->in == m.blocks[m.block_tores.size() * 2 + 1].out,
                          "creps fast path: a refinement ToRes is (", t->out, ", ", t->in, ")");
    m.block_tores.push_back(m.upload(*t, last));
    bb.insert(bb.end(), t->bias.begin(), t->bias.end());
  }
  m.block_biases = Buffer(bb);
  m.block_stride = round_up(creps::block_elements(k), 128);
  m.rgb_stride = round_up(18 * k, 64);

  m.modulation = Buffer(m.modulation_host), m.modulation_bias = Buffer(m.modulation_bias_host);
  m.style_index_device = Buffer(m.style_index);
  m.modulation_host = {}, m.modulation_bias_host = {};
}

CrepsEngine::~CrepsEngine() = default;

std::int64_t CrepsEngine::num_ws() const { return impl_->num_ws(); }

bool CrepsEngine::fused_layers(const CrepsRenderOptions& options) const { return impl_->fused(options); }

void CrepsEngine::Impl::record(std::int64_t batch, bool per_layer, std::int64_t height, std::int64_t width,
                               bool diagonal, float* out, const CrepsRenderOptions& o, const Storage& st, bool fused,
                               std::int64_t chunk, std::int64_t count) {
  const bool half = st.half, split = st.split;
  const std::size_t e = st.weight_bytes(), ve = st.value_bytes();  // per folded weight, per activation
  const cudaDataType_t type = half ? CUDA_R_16F : CUDA_R_32F;
  cudaStream_t s = stream();
  const std::int64_t rows_total = rank * (height + width), pixels = diagonal ? width : height * width;

  // Styles of every layer for the whole batch: one GEMM for one w, else a kernel that picks each row's w.
  if (per_layer) {
    styles_kernel<<<grid_for(style_rows * 32), block_size, 0, s>>>(
        batch, style_rows, style_dim, modulation.get<float>(), modulation_bias.get<float>(),
        style_index_device.get<int>(), ws.get<float>(), num_ws() * style_dim, style_dim, styles.get<float>());
    check_launch(op_name);
  } else {
    compute_styles(batch, style_rows, style_dim, modulation.get<float>(), modulation_bias.get<float>(), ws.get<float>(),
                   styles.get<float>(), op_name);
  }

  // Workspace: per sample of the chunk the folded weights, the input scale and the embeddings; then the
  // tile buffers.
  char* p = workspace.get<char>();
  auto take = [&](std::size_t bytes) {
    char* q = p;
    p += round_up(static_cast<std::int64_t>(bytes), 256);
    return q;
  };
  char* fold = take(chunk * fold_elements(st) * e);
  char* block_fold = take(chunk * block_stride * e);
  auto* rgb_fold = reinterpret_cast<float*>(take(chunk * rgb_stride * 4));
  auto* scale = reinterpret_cast<float*>(take(chunk * input_channels * 2 * rank * 4));
  const std::int64_t line = k * quads * 4;
  const std::size_t u_bytes = chunk * levels * height * line * 4, v_bytes = chunk * levels * width * line * 4;
  auto* u = reinterpret_cast<float*>(take(u_bytes));
  auto* v = reinterpret_cast<float*>(take(v_bytes));
  const std::size_t act = static_cast<std::size_t>(chunk * count * max_width) * ve;
  char* buf[2] = {take(act), take(act)};
  auto* sum = reinterpret_cast<float*>(take(chunk * count * k * 4));
  auto* tgemm = reinterpret_cast<float*>(take(chunk * count * k * 4));
  auto* scratch = reinterpret_cast<float*>(take((half && !fused) || split ? chunk * count * max_width * 4 : 0));

  for (std::int64_t b0 = 0; b0 < batch; b0 += chunk) {
    const std::int64_t nb = std::min(chunk, batch - b0);
    const float* style = styles.get<float>() + b0 * style_rows;
    // Fold the styles into the chunk's weights: the wide layers and ToRes in the element type, the
    // refinement blocks per sample for the per-pixel kernel. One warp per folded row; Out: fp16 in the
    // 16-bit mode, or fp32 (Split: the right factor of a 3×TF32 GEMM).
    auto fold_layer = [&]<class Out, bool Split = false>(const DeviceLayer& l, bool demodulate, std::int64_t stride,
                                                         void* dst, Out*) {
      const auto blocks = static_cast<unsigned>((nb * l.out + 7) / 8);
      fold_styles_warp<Out, Split><<<blocks, block_size, 0, s>>>(nb, l.in, l.out, l.weight.get<float>(),
                                                                 style + l.style_row, style_rows, demodulate, 1e-8f,
                                                                 stride, static_cast<Out*>(dst));
      check_launch(op_name);
    };
    auto fold_wide = [&](const DeviceLayer& l, bool demodulate, void* dst) {
      const std::int64_t stride = st.fold_stride(l.in, l.out);
      if (half)
        fold_layer(l, demodulate, stride, dst, static_cast<f16*>(nullptr));
      else if (split)
        fold_layer.operator()<float, true>(l, demodulate, stride, dst, nullptr);
      else
        fold_layer(l, demodulate, stride, dst, static_cast<float*>(nullptr));
    };
    std::vector<char*> folded_fc, folded_tores;
    std::int64_t offset = 0;
    for (std::size_t i = 0; i < fcs.size(); ++i) {
      folded_fc.push_back(fold + offset * e);
      fold_wide(fcs[i], true, folded_fc.back());
      offset += nb * st.fold_stride(fcs[i].in, fcs[i].out);
    }
    for (std::size_t i = 0; i < tores.size(); ++i) {
      folded_tores.push_back(fold + offset * e);
      fold_wide(tores[i], false, folded_tores.back());
      offset += nb * st.fold_stride(tores[i].in, tores[i].out);
    }
    std::int64_t block_offset = 0;
    for (const auto& l : blocks) {
      char* dst = block_fold + block_offset * e;
      half ? fold_layer(l, true, block_stride, dst, static_cast<f16*>(nullptr))
           : fold_layer(l, true, block_stride, dst, static_cast<float*>(nullptr));
      block_offset += l.in * l.out;
    }
    if (rank % 4 != 0) {  // the embeddings' slots beyond the rank stay zero
      check_cuda(cudaMemsetAsync(u, 0, nb * levels * height * line * 4, s), op_name, "cudaMemsetAsync");
      check_cuda(cudaMemsetAsync(v, 0, nb * levels * width * line * 4, s), op_name, "cudaMemsetAsync");
    }
    fold_layer(block_tores[0], false, rgb_stride, rgb_fold, static_cast<float*>(nullptr));
    fold_layer(block_tores[1], false, rgb_stride, rgb_fold + 12 * k, static_cast<float*>(nullptr));
    input_scale_kernel<<<grid_for(nb * input_channels * 2 * rank), block_size, 0, s>>>(
        nb, input_channels, 2 * rank, input_weight.get<float>(), style, style_rows, scale);
    check_launch(op_name);

    for (std::int64_t first = 0; first < rows_total; first += count) {
      const std::int64_t n = std::min(count, rows_total - first);
      const InputArgs f{
          nb,   first, n, input_channels, rank, height, this->rows.get<float>(), cols.get<float>(), freqs.get<float>(),
          scale};
      if (half)
        input_kernel<f16, false><<<grid_for(n * 32), block_size, 0, s>>>(f, reinterpret_cast<f16*>(buf[0]));
      else if (split)
        input_kernel<float, true><<<grid_for(n * 32), block_size, 0, s>>>(f, reinterpret_cast<float*>(buf[0]));
      else
        input_kernel<float, false><<<grid_for(n * 32), block_size, 0, s>>>(f, reinterpret_cast<float*>(buf[0]));
      check_launch(op_name);

      // result (samples, n, out) fp32 = x · folded weightᵀ per sample: 3×TF32 split, or cuBLAS.
      auto gemm = [&](std::int64_t in, std::int64_t out_width, const void* weights, const void* x, float* result) {
        const std::int64_t stride = st.fold_stride(in, out_width);
        if (split)
          return split_tf32_gemm(nb, n, out_width, in, static_cast<const float*>(x), n * 3 * in,
                                 static_cast<const float*>(weights), stride, result, n * out_width, st.accumulations);
        gemm_ex(true, false, out_width, n, in, weights, type, in, stride, x, type, in, n * in, 0.0, result, CUDA_R_32F,
                out_width, n * out_width, nb, CUBLAS_COMPUTE_32F, op_name);
      };
      // One wide layer x → z: fused, or a GEMM with an fp32 result and the epilogue pass.
      auto layer = [&](std::size_t i, const void* x, void* z) {
        const DeviceLayer& l = fcs[i];
#if PIXSYN_CUDA_SM90
        if (fused) {
          sm90::FusedLayer<f16> fl;
          fl.samples = nb, fl.count = n, fl.in = l.in, fl.out = l.out;
          fl.x = static_cast<const f16*>(x), fl.shared_x = false;
          fl.weight = reinterpret_cast<const f16*>(folded_fc[i]), fl.weight_stride = st.fold_stride(l.in, l.out);
          fl.bias = l.bias.get<float>();
          fl.z = static_cast<f16*>(z);
          fl.clamp = clamp;
          return sm90::fused_layer(fl, s);
        }
#endif
        float* result = half || split ? scratch : static_cast<float*>(z);
        gemm(l.in, l.out, folded_fc[i], x, result);
        const EpilogueArgs a{
            .rows = nb * n, .count = n, .channels = l.out, .bias = l.bias.get<float>(), .store = true, .clamp = clamp};
        if (half)
          launch_epilogue<f16, false>(a, result, static_cast<f16*>(z), op_name);
        else if (split)
          launch_epilogue<float, true>(a, result, static_cast<float*>(z), op_name);
        else
          launch_epilogue<float, false>(a, result, static_cast<float*>(z), op_name);
      };

      layer(0, buf[0], buf[1]);
      for (std::int64_t l = 0; l < levels; ++l) {
        layer(1 + 2 * l, buf[1], buf[0]);
        layer(2 + 2 * l, buf[0], buf[1]);
        // ToRes: (samples, n, K) fp32 = x · folded ToResᵀ, then the accumulation into S, U and V.
        const DeviceLayer& t = tores[l];
        gemm(t.in, k, folded_tores[l], buf[1], tgemm);
        const ToresArgs ta{nb, first, n, k, rank, quads, height, width, levels, l, t.bias.get<float>(), clamp};
        tores_kernel<<<grid_for(nb * n * k), block_size, 0, s>>>(ta, tgemm, sum, u, v);
        check_launch(op_name);
      }
    }

    creps::PixelArgs a;
    a.samples = nb, a.height = height, a.width = width, a.diagonal = diagonal;
    a.levels = static_cast<int>(levels), a.quads = static_cast<int>(quads);
    a.first_level = static_cast<int>(levels - decoder_count);
    a.u = u, a.v = v;
    a.decoders = half ? decoders16.get() : decoders32.get();
    a.decoder_biases = decoder_biases.get<float>();
    a.img_weight = img_weight.get<float>(), a.img_bias = img_bias.get<float>();
    a.blocks = block_fold, a.block_stride = block_stride;
    a.rgb = rgb_fold, a.rgb_stride = rgb_stride;
    a.block_biases = block_biases.get<float>();
    a.clamp = clamp;
    a.out = out + b0 * 3 * pixels;
    creps::render_pixels(a, k, half, s);
  }
}

void CrepsEngine::Impl::run(const float* ws_in, std::int64_t batch, bool per_layer, std::int64_t height,
                            std::int64_t width, bool diagonal, float* out, const CrepsRenderOptions& o) {
  pixsyn::detail::check(batch > 0 && height > 0 && width > 0, "creps fast path: nothing to render (batch ", batch, ", ",
                        height, " × ", width, " points)");
  pixsyn::detail::check(o.tf32_split >= 0 && o.tf32_split <= 8, "creps fast path: tf32_split is ", o.tf32_split,
                        "; expected 0 (SGEMM) to 8 accumulations");
  const Storage st = storage(o);
  const std::size_t e = st.weight_bytes(), ve = st.value_bytes();
  const bool fused = this->fused(o);
  // Per sample: folded weights, input scale, embeddings of every level. The chunk of samples takes at most
  // half the budget; the tiles of bi-line rows the rest.
  const std::size_t per_sample = (fold_elements(st) + block_stride) * e + rgb_stride * 4 +
                                 input_channels * 2 * rank * 4 +
                                 static_cast<std::size_t>(levels * (height + width) * k * quads * 4) * 4;
  const std::int64_t chunk =
      std::clamp<std::int64_t>(static_cast<std::int64_t>(o.workspace_bytes / 2 / per_sample), 1, batch);
  const std::size_t fixed = chunk * per_sample + 13 * 256;
  const bool scratch = (st.half && !fused) || st.split;  // the GEMM's fp32 result apart from the activations
  const std::size_t per_row = chunk * (2 * max_width * ve + 2 * k * 4 + (scratch ? max_width * 4 : 0));
  pixsyn::detail::check(o.workspace_bytes > fixed + 64 * per_row, "creps fast path: a workspace of ", o.workspace_bytes,
                        " bytes is too small for ", height, " × ", width, " points of this model (needs more than ",
                        fixed + 64 * per_row, ")");
  const std::int64_t rows_total = rank * (height + width);
  const std::int64_t count = tile_rows(o.workspace_bytes - fixed, per_row, o.max_pixels, chunk, rows_total);

  const auto ws_bytes = static_cast<std::size_t>(batch * (per_layer ? num_ws() : 1) * style_dim) * 4;
  const auto style_bytes = static_cast<std::size_t>(batch * style_rows) * 4;
  if (ws.bytes() < ws_bytes) ws = Buffer(ws_bytes);
  copy_on_device(ws.get(), ws_in, ws_bytes);
  if (styles.bytes() < style_bytes) styles = Buffer(style_bytes);
  graph.reserve(workspace, fixed + count * per_row);

  const std::int64_t tiles = (rows_total + count - 1) / count * ((batch + chunk - 1) / chunk);
  if (!o.graph || tiles > 64) return record(batch, per_layer, height, width, diagonal, out, o, st, fused, chunk, count);
  const GraphKey key{
      ws.get<float>(),   batch, per_layer, height,          width, diagonal, out, static_cast<int>(o.precision),
      workspace.bytes(), count, fused,     st.accumulations};
  graph.launch(key, [&] { record(batch, per_layer, height, width, diagonal, out, o, st, fused, chunk, count); });
}

void CrepsEngine::render(const float* ws, std::int64_t batch, bool per_layer, const std::vector<float>& rows,
                         const std::vector<float>& cols, bool diagonal, float* out, const CrepsRenderOptions& options) {
  Impl& m = *impl_;
  pixsyn::detail::check(!rows.empty() && !cols.empty(), "creps fast path: a point count of 0 (", rows.size(), " rows, ",
                        cols.size(), " columns)");
  pixsyn::detail::check(!diagonal || rows.size() == cols.size(), "creps fast path: a point set needs as many rows (",
                        rows.size(), ") as columns (", cols.size(), ")");
  // Reallocated only when the coordinates grow, so that a captured graph keeps valid pointers.
  if (m.rows.bytes() < rows.size() * 4) m.rows = Buffer(rows.size() * 4);
  if (m.cols.bytes() < cols.size() * 4) m.cols = Buffer(cols.size() * 4);
  copy_to_device(m.rows.get(), rows.data(), rows.size() * 4);
  copy_to_device(m.cols.get(), cols.data(), cols.size() * 4);
  m.run(ws, batch, per_layer, static_cast<std::int64_t>(rows.size()), static_cast<std::int64_t>(cols.size()), diagonal,
        out, options);
}

}  // namespace pixsyn::backend::cuda
