// The fused CIPS inference engine (see include/pixsyn/backend/cuda/cips_fast.hpp). Per render call: one
// fp32 GEMM gives every layer's styles, one small kernel per layer folds styles and demodulation into
// per-sample weights; then per tile of points: the input features once (shared by the batch), and per
// StyledConv one fused Hopper kernel (sm90/fused_layer.cuh; bf16, and fp32 as 3×TF32 with the activations
// split in registers) or one strided-batched GEMM plus one epilogue kernel. On the cuBLAS path in fp32 the
// GEMM operands are stored split for 3×TF32 GEMMs (split_gemm.hpp) where the GPU has TF32 tensor cores: the
// kernels that write them (fold, features, epilogue) write the split directly; the fused fp32 layer reads
// split weights and plain activations. The whole call is captured as a CUDA graph and replayed while the
// same call repeats.
#include <cuda_bf16.h>

#include <algorithm>
#include <cmath>
#include <tuple>
#include <type_traits>

#include "common.cuh"
#include "fast_render.cuh"
#include "fold.cuh"
#include "gemm.cuh"
#include "pixsyn/backend/cuda/cips_fast.hpp"
#include "pixsyn/backend/cuda/split_gemm.hpp"
#include "pixsyn/core/error.hpp"
#include "pixsyn/core/philox.hpp"
#include "tf32_split.cuh"
#if PIXSYN_CUDA_SM90
#include "sm90/fused_layer.cuh"
#endif

namespace pixsyn::backend::cuda {

namespace {

constexpr const char* op_name = "cips fast render";
using bf16 = __nv_bfloat16;

// Input features of `count` points starting at point `first`: Fourier sin(W xy + b) then the embedding
// table sampled bilinearly (align_corners = false, border), as nn::FourierFeatures / CoordinateEmbedding.
// Points come from xy (P, 2), or from a grid: x = xs[p % width], y = ys[p / width].
struct FeatureArgs {
  const float *xy, *xs, *ys;
  std::int64_t width, first, count, hidden, table_size, channels;
  bool fourier, learned;
  const float *fourier_weight, *fourier_bias, *table;
};

// One warp per point (its coordinates and bilinear corners computed once), lanes along the channels.
// Split: each row is stored as the left factor of a 3×TF32 GEMM (3 channels floats).
template <class A, bool Split>
__global__ void features_kernel(FeatureArgs f, A* out) {
  const int lane = threadIdx.x % 32;
  const std::int64_t warps = std::int64_t(gridDim.x) * (blockDim.x / 32);
  for (std::int64_t p = blockIdx.x * std::int64_t(blockDim.x / 32) + threadIdx.x / 32; p < f.count; p += warps) {
    const std::int64_t q = f.first + p;
    const float x = f.xy ? f.xy[q * 2] : f.xs[q % f.width];
    const float y = f.xy ? f.xy[q * 2 + 1] : f.ys[q / f.width];
    const std::int64_t S = f.table_size;
    const float n = static_cast<float>(S);
    const float ix = fminf(fmaxf(((x + 1) * n - 1) / 2, 0.0f), n - 1);
    const float iy = fminf(fmaxf(((y + 1) * n - 1) / 2, 0.0f), n - 1);
    const float fx = floorf(ix), fy = floorf(iy);
    const float wx[2] = {fx + 1 - ix, ix - fx}, wy[2] = {fy + 1 - iy, iy - fy};
    const auto x0 = static_cast<std::int64_t>(fx), y0 = static_cast<std::int64_t>(fy);
    A* row = out + p * f.channels * (Split ? 3 : 1);
    for (std::int64_t c = lane; c < f.channels; c += 32) {
      float v;
      if (f.fourier && c < f.hidden) {
        v = sinf(f.fourier_bias[c] + (x * f.fourier_weight[2 * c] + y * f.fourier_weight[2 * c + 1]));
      } else {
        const std::int64_t k = f.fourier ? c - f.hidden : c;
        v = 0;
        for (int dy = 0; dy < 2; ++dy)
          for (int dx = 0; dx < 2; ++dx) {
            const std::int64_t xi = x0 + dx, yi = y0 + dy;
            if (xi >= S || yi >= S) continue;
            v += f.table[(yi * S + xi) * f.hidden + k] * (wx[dx] * wy[dy]);
          }
      }
      if constexpr (Split)
        store_split(v, row, f.channels, c, SplitSide::left);
      else
        row[c] = convert_to<A>(v);
    }
  }
}

// After a fused layer with a ToRGB: rgb (samples, 3, rgb_stride) at point `first` (+)= Σ of the per-tile
// partial sums (parts, rows, 3) + bias, summed in a fixed order.
__global__ void reduce_rgb(std::int64_t rows, std::int64_t count, int parts, const float* partial, const float* bias,
                           float* rgb, std::int64_t rgb_stride, std::int64_t first, bool rgb_first) {
  PIXSYN_GRID_STRIDE(t, rows * 3) {
    const std::int64_t r = t / 3, c = t % 3, b = r / count, p = r % count;
    float sum = 0;
    for (int k = 0; k < parts; ++k) sum += partial[(k * rows + r) * 3 + c];
    float* dst = rgb + (b * 3 + c) * rgb_stride + first + p;
    const float v = sum + bias[c];
    *dst = rgb_first ? v : *dst + v;
  }
}

struct DeviceLayer {
  std::int64_t in, out, style_row;
  float noise_weight;
  Buffer weight, bias;
};

// What a captured graph depends on besides the engine's own buffers.
using GraphKey = std::tuple<const float*, std::int64_t, const float*, std::int64_t, std::int64_t, float*, int, bool,
                            std::uint64_t, std::uint64_t, std::size_t, std::int64_t, bool, int>;

}  // namespace

struct CipsEngine::Impl {
  std::int64_t style_dim, hidden, table_size, input_width, style_rows = 0, max_width = 0;
  bool fourier, learned, residual;
  Buffer fourier_weight, fourier_bias, table, modulation, modulation_bias;
  std::vector<DeviceLayer> convs, to_rgbs;
  std::vector<Buffer> shortcut32, shortcut16, shortcut_split;  // residual: per block, empty for the identity
  std::int64_t rgb_fold_elems = 0;

  // Per-call state, kept between calls so that a repeated call replays its graph.
  Buffer w, xy, xs, ys, styles, workspace;
  CapturedCall<GraphKey> graph;

  DeviceLayer upload(const ModulatedLayer& l) {
    pixsyn::detail::check(l.weight.size() == std::size_t(l.in * l.out) &&
                              l.modulation.size() == std::size_t(l.in * style_dim) &&
                              l.modulation_bias.size() == std::size_t(l.in),
                          "cips fast path: layer weights of the wrong size (in ", l.in, ", out ", l.out, ")");
    DeviceLayer d{l.in, l.out, style_rows, l.noise_weight, Buffer(l.weight), Buffer(l.bias)};
    style_rows += l.in;
    return d;
  }

  // Elements of one sample's folded StyledConv weights.
  std::int64_t fold_elems(const Storage& st) const {
    std::int64_t n = 0;
    for (const auto& l : convs) n += st.fold_stride(l.in, l.out);
    return n;
  }
  // Whether this call's GEMMs are 3×TF32 splits: fp32 on a GPU with TF32 tensor cores.
  static bool split(const CipsRenderOptions& o) {
    return o.precision == Precision::fp32 && o.tf32_split > 0 && Context::instance().compute_capability() >= 80;
  }
  // Whether this call runs each StyledConv as one fused kernel (sm90/fused_layer.cuh): bf16, or fp32 as
  // 3×TF32.
  bool fused(const CipsRenderOptions& o) const {
    if (!o.fused_layers || (o.precision == Precision::fp32 && !split(o)) || !fused_layers_supported()) return false;
    return std::all_of(convs.begin(), convs.end(),
                       [](const DeviceLayer& l) { return l.in % 8 == 0 && l.out % 8 == 0; });
  }
  // ToRGB partial sums per point after a fused layer of `width` outputs: one per tile of output channels.
  static std::int64_t rgb_parts(std::int64_t width, bool half) {
#if PIXSYN_CUDA_SM90
    const std::int64_t tile = half ? sm90::tile_out<bf16> : sm90::tile_out<float>;
    return (width + tile - 1) / tile;
#else
    return 0;
#endif
  }

  void run(const float* w_in, std::int64_t batch, const float* xy, std::int64_t width, std::int64_t points, float* out,
           const CipsRenderOptions& o);
  void record(std::int64_t batch, const float* xy, std::int64_t width, std::int64_t points, float* out,
              const CipsRenderOptions& o, bool fused, const Storage& st, std::int64_t chunk, std::int64_t count);
};

CipsEngine::CipsEngine(const CipsWeights& wt) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  pixsyn::detail::check(!wt.convs.empty() && !wt.to_rgbs.empty(), "cips fast path: the model has no layers");
  pixsyn::detail::check(!wt.residual || wt.to_rgbs.size() == 1, "cips fast path: a residual model has one ToRGB");
  pixsyn::detail::check(wt.residual || wt.to_rgbs.size() * 2 + 1 == wt.convs.size(),
                        "cips fast path: a skips model has one ToRGB per two StyledConvs");
  m.style_dim = wt.style_dim, m.hidden = wt.hidden, m.table_size = wt.table_size;
  m.fourier = wt.fourier, m.learned = wt.learned, m.residual = wt.residual;
  m.input_width = (wt.fourier ? wt.hidden : 0) + (wt.learned ? wt.hidden : 0);
  pixsyn::detail::check(wt.convs.front().in == m.input_width, "cips fast path: the first layer takes ",
                        wt.convs.front().in, " channels, the features have ", m.input_width);
  m.fourier_weight = Buffer(wt.fourier_weight), m.fourier_bias = Buffer(wt.fourier_bias), m.table = Buffer(wt.table);
  std::vector<float> modulation, modulation_bias;
  auto add = [&](const ModulatedLayer& l) {
    modulation.insert(modulation.end(), l.modulation.begin(), l.modulation.end());
    modulation_bias.insert(modulation_bias.end(), l.modulation_bias.begin(), l.modulation_bias.end());
    return m.upload(l);
  };
  for (const auto& l : wt.convs) {
    m.convs.push_back(add(l));
    m.max_width = std::max(m.max_width, l.out);
  }
  for (const auto& l : wt.to_rgbs) {
    m.to_rgbs.push_back(add(l));
    m.rgb_fold_elems += plain_fp32.fold_stride(m.to_rgbs.back().in, m.to_rgbs.back().out);
  }
  pixsyn::detail::check(!wt.residual || wt.shortcuts.size() * 2 + 1 == wt.convs.size(),
                        "cips fast path: a residual model has one shortcut entry per block");
  for (std::size_t i = 0; i < wt.shortcuts.size(); ++i) {
    const auto& s = wt.shortcuts[i];
    const ModulatedLayer& conv1 = wt.convs[1 + 2 * i];  // the shortcut maps the block input as conv1 does
    pixsyn::detail::check(s.empty() || s.size() == std::size_t(conv1.in * conv1.out), "cips fast path: shortcut ", i,
                          " has ", s.size(), " weights, expected ", conv1.out, " x ", conv1.in);
    m.shortcut32.emplace_back(s);
    m.shortcut16.emplace_back(to_bf16(s));
    m.shortcut_split.emplace_back(s.size() * 3 * sizeof(float));
    if (!s.empty())
      split_tf32(conv1.out, conv1.in, m.shortcut32.back().get<float>(), SplitSide::right,
                 m.shortcut_split.back().get<float>());
  }
  m.modulation = Buffer(modulation), m.modulation_bias = Buffer(modulation_bias);
}

CipsEngine::~CipsEngine() = default;

void CipsEngine::Impl::record(std::int64_t batch, const float* xy, std::int64_t width, std::int64_t points, float* out,
                              const CipsRenderOptions& o, bool fused, const Storage& st, std::int64_t chunk,
                              std::int64_t count) {
  const bool half = st.half, split = st.split_values();  // split: activations too (the cuBLAS path)
  const std::size_t we = st.weight_bytes(), e = st.value_bytes();
  const cudaDataType_t type = half ? CUDA_R_16BF : CUDA_R_32F;
  cudaStream_t s = stream();

  // Styles of every layer for the whole batch: (B, R) = w Mᵀ + bias.
  compute_styles(batch, style_rows, style_dim, modulation.get<float>(), modulation_bias.get<float>(), w.get<float>(),
                 styles.get<float>(), op_name);

  // Workspace: folded weights of a chunk of samples, then the tile buffers.
  char* base = workspace.get<char>();
  char* fold = base;
  auto* rgb_fold = reinterpret_cast<float*>(fold + chunk * fold_elems(st) * we);
  char* feat = reinterpret_cast<char*>(rgb_fold + chunk * rgb_fold_elems);
  const std::size_t act = static_cast<std::size_t>(chunk * count * max_width) * e;
  // Activation buffers: a skips model alternates two; a residual one keeps the block input for the
  // shortcut (three in turn) and the shortcut GEMM's result (the fourth).
  char* buf[4];
  buf[0] = feat + ((count * input_width * e + 255) / 256) * 256;
  for (int i = 1; i < 4; ++i) buf[i] = buf[i - 1] + (act + 255) / 256 * 256;
  const int turns = residual ? 3 : 2;
  // After the activations: the fused path's ToRGB partial sums, or the bf16 and split paths' fp32 GEMM results.
  auto* rgb_partial = reinterpret_cast<float*>(buf[residual ? 3 : 1] + (act + 255) / 256 * 256);
  float* scratch = rgb_partial;

  for (std::int64_t b0 = 0; b0 < batch; b0 += chunk) {
    const std::int64_t nb = std::min(chunk, batch - b0);
    const float* style = styles.get<float>() + b0 * style_rows;
    std::vector<char*> folded;
    std::int64_t offset = 0;
    for (const auto& l : convs) {
      char* dst = fold + offset * we;
      const std::int64_t stride = st.fold_stride(l.in, l.out);
      const unsigned blocks = unsigned(nb * l.out);
      const float* weight = l.weight.get<float>();
      if (half)
        fold_styles<<<blocks, block_size, 0, s>>>(l.in, l.out, weight, style + l.style_row, style_rows, true, 1e-8f,
                                                  stride, reinterpret_cast<bf16*>(dst));
      else if (st.split)
        fold_styles<float, float, true><<<blocks, block_size, 0, s>>>(l.in, l.out, weight, style + l.style_row,
                                                                      style_rows, true, 1e-8f, stride,
                                                                      reinterpret_cast<float*>(dst), SplitSide::right);
      else
        fold_styles<<<blocks, block_size, 0, s>>>(l.in, l.out, weight, style + l.style_row, style_rows, true, 1e-8f,
                                                  stride, reinterpret_cast<float*>(dst));
      check_launch(op_name);
      folded.push_back(dst);
      offset += nb * stride;
    }
    std::vector<float*> rgb_folded;
    offset = 0;
    for (const auto& l : to_rgbs) {
      const std::int64_t stride = plain_fp32.fold_stride(l.in, l.out);
      fold_styles<<<unsigned(nb * 3), block_size, 0, s>>>(l.in, 3, l.weight.get<float>(), style + l.style_row,
                                                          style_rows, false, 1e-8f, stride, rgb_fold + offset);
      check_launch(op_name);
      rgb_folded.push_back(rgb_fold + offset);
      offset += nb * stride;
    }

    for (std::int64_t first = 0; first < points; first += count) {
      const std::int64_t n = std::min(count, points - first);
      FeatureArgs f{xy,
                    xs.get<float>(),
                    ys.get<float>(),
                    width,
                    first,
                    n,
                    hidden,
                    table_size,
                    input_width,
                    fourier,
                    learned,
                    fourier_weight.get<float>(),
                    fourier_bias.get<float>(),
                    table.get<float>()};
      if (half)
        features_kernel<bf16, false><<<grid_for(n * 32), block_size, 0, s>>>(f, reinterpret_cast<bf16*>(feat));
      else if (split)
        features_kernel<float, true><<<grid_for(n * 32), block_size, 0, s>>>(f, reinterpret_cast<float*>(feat));
      else
        features_kernel<float, false><<<grid_for(n * 32), block_size, 0, s>>>(f, reinterpret_cast<float*>(feat));
      check_launch(op_name);

      // The cuBLAS path's GEMM, always with an fp32 result (in bf16 and split modes into the scratch buffer).
      auto gemm = [&](const DeviceLayer& l, const void* weights, const void* x, bool shared_x, float* z) {
        if (split)
          return split_tf32_gemm(nb, n, l.out, l.in, static_cast<const float*>(x), shared_x ? 0 : n * 3 * l.in,
                                 static_cast<const float*>(weights), st.fold_stride(l.in, l.out), z, n * l.out,
                                 st.accumulations);
        gemm_ex(true, false, l.out, n, l.in, weights, type, l.in, st.fold_stride(l.in, l.out), x, type, l.in,
                shared_x ? 0 : n * l.in, 0.0, z, CUDA_R_32F, l.out, n * l.out, nb, CUBLAS_COMPUTE_32F, op_name);
      };
#if PIXSYN_CUDA_SM90
      // The fused path: x → z (or only the ToRGB sums for the last layer) in one kernel; E = bf16 or float.
      auto fused_layer = [&](std::size_t layer, const void* weights, const void* x, bool shared_x, void* z,
                             const void* residual, int rgb) {
        const DeviceLayer& l = convs[layer];
        auto launch = [&](auto f) {
          using E = std::remove_const_t<std::remove_pointer_t<decltype(f.x)>>;
          f.samples = nb, f.count = n, f.in = l.in, f.out = l.out;
          f.x = static_cast<const E*>(x), f.shared_x = shared_x;
          f.weight = static_cast<const E*>(weights), f.weight_stride = st.fold_stride(l.in, l.out);
          f.bias = l.bias.get<float>();
          f.noise = o.noise, f.noise_weight = l.noise_weight, f.seed = o.noise_seed, f.layer = layer;
          f.sample0 = static_cast<std::uint64_t>(b0), f.first = o.first_point + static_cast<std::uint64_t>(first);
          f.residual = static_cast<const E*>(residual);
          if (rgb >= 0) {
            f.rgb_weight = rgb_folded[rgb],
            f.rgb_weight_stride = plain_fp32.fold_stride(to_rgbs[rgb].in, to_rgbs[rgb].out);
            f.rgb_partial = rgb_partial;
          }
          f.z = layer + 1 == convs.size() ? nullptr : static_cast<E*>(z);
          sm90::fused_layer(f, s);
        };
        if (half)
          launch(sm90::FusedLayer<bf16>{});
        else
          launch(sm90::FusedLayer<float>{});
        if (rgb >= 0) {
          reduce_rgb<<<grid_for(nb * n * 3), block_size, 0, s>>>(nb * n, n, static_cast<int>(rgb_parts(l.out, half)),
                                                                 rgb_partial, to_rgbs[rgb].bias.get<float>(),
                                                                 out + b0 * 3 * points, points, first, rgb == 0);
          check_launch(op_name);
        }
      };
#endif
      auto epilogue = [&](std::size_t layer, const float* in, void* z, const void* residual, bool residual_split,
                          int rgb) {
        const DeviceLayer& l = convs[layer];
        const bool last = layer + 1 == convs.size();
        EpilogueArgs a{nb * n,
                       n,
                       l.out,
                       l.bias.get<float>(),
                       o.noise,
                       l.noise_weight,
                       o.noise_seed,
                       layer,
                       static_cast<std::uint64_t>(b0),
                       static_cast<std::uint64_t>(first),
                       o.first_point,
                       residual,
                       residual_split,
                       rgb >= 0 ? rgb_folded[rgb] : nullptr,
                       rgb >= 0 ? plain_fp32.fold_stride(to_rgbs[rgb].in, to_rgbs[rgb].out) : 0,
                       rgb >= 0 ? to_rgbs[rgb].bias.get<float>() : nullptr,
                       out + b0 * 3 * points,
                       points,
                       rgb == 0,
                       !last,
                       0.0f};
        if (half)
          launch_epilogue<bf16, false>(a, in, static_cast<bf16*>(z), op_name);
        else if (split)
          launch_epilogue<float, true>(a, in, static_cast<float*>(z), op_name);
        else
          launch_epilogue<float, false>(a, in, static_cast<float*>(z), op_name);
      };

      // One StyledConv: fused, or a GEMM and the epilogue pass.
      auto layer = [&](std::size_t i, const void* x, bool shared_x, void* z, const void* residual, bool residual_split,
                       int rgb) {
        if (rgb >= 0)
          pixsyn::detail::check(to_rgbs[rgb].in == convs[i].out, "cips fast path: ToRGB ", rgb, " takes ",
                                to_rgbs[rgb].in, " channels after a layer of ", convs[i].out);
#if PIXSYN_CUDA_SM90
        if (fused) return fused_layer(i, folded[i], x, shared_x, z, residual, rgb);
#endif
        float* result = half || split ? scratch : static_cast<float*>(z);
        gemm(convs[i], folded[i], x, shared_x, result);
        epilogue(i, result, z, residual, residual_split, rgb);
      };

      layer(0, feat, true, buf[0], nullptr, false, -1);
      int cur = 0;  // the buffer holding the current activations
      const std::size_t blocks = (convs.size() - 1) / 2;
      for (std::size_t i = 0; i < blocks; ++i) {
        const std::size_t l1 = 1 + 2 * i, l2 = l1 + 1;
        const int mid = (cur + 1) % turns, next = (cur + 2) % turns;
        layer(l1, buf[cur], false, buf[mid], nullptr, false, -1);
        // CIPSres: (conv2(conv1(x)) + shortcut(x)) / √2, the shortcut being x (stored like x) or a
        // shared-weight GEMM (its result plain).
        const void* residual = nullptr;
        bool residual_split = split;
        if (this->residual) {
          residual = buf[cur];
          if (shortcut32[i].bytes() > 0) {
            const auto& l = convs[l1];
            if (split)
              split_tf32_gemm(1, nb * n, l.out, l.in, reinterpret_cast<const float*>(buf[cur]), 0,
                              shortcut_split[i].get<float>(), 0, reinterpret_cast<float*>(buf[3]), 0, st.accumulations);
            else
              gemm_ex(true, false, l.out, nb * n, l.in, half ? shortcut16[i].get() : shortcut32[i].get(), type, l.in, 0,
                      buf[cur], type, l.in, 0, 0.0, buf[3], type, l.out, 0, 1, CUBLAS_COMPUTE_32F, op_name);
            residual = buf[3], residual_split = false;
          }
        }
        const int rgb = this->residual ? (i + 1 == blocks ? 0 : -1) : static_cast<int>(i);
        layer(l2, buf[mid], false, buf[next], residual, residual_split, rgb);
        cur = next;
      }
    }
  }
}

void CipsEngine::Impl::run(const float* w_in, std::int64_t batch, const float* xy, std::int64_t width,
                           std::int64_t points, float* out, const CipsRenderOptions& o) {
  pixsyn::detail::check(batch > 0 && points > 0, "cips fast path: nothing to render (batch ", batch, ", points ",
                        points, ")");
  pixsyn::detail::check(o.tf32_split >= 0 && o.tf32_split <= 8, "cips fast path: tf32_split is ", o.tf32_split,
                        "; expected 0 (SGEMM) to 8 accumulations");
  const bool fused = this->fused(o), half = o.precision == Precision::bf16;
  const Storage st{half, split(o), split(o) ? o.tf32_split : 0, fused && !half};
  const std::size_t e = st.value_bytes();
  // Folded weights of all samples if they take at most half the budget, else of a chunk of samples.
  const std::size_t per_sample = fold_elems(st) * st.weight_bytes() + rgb_fold_elems * 4;
  const std::int64_t chunk = std::clamp<std::int64_t>(
      static_cast<std::int64_t>(o.workspace_bytes / 2 / std::max<std::size_t>(per_sample, 1)), 1, batch);
  const std::size_t fixed = chunk * per_sample + 5 * 256;
  const std::size_t extra = fused                 ? chunk * rgb_parts(max_width, half) * 3 * 4
                            : st.half || st.split ? chunk * max_width * 4
                                                  : 0;
  const std::size_t per_point = (chunk * (residual ? 4 : 2) * max_width + input_width) * e + extra;
  pixsyn::detail::check(o.workspace_bytes > fixed + 64 * per_point, "cips fast path: a workspace of ",
                        o.workspace_bytes, " bytes is too small for this model (needs more than ",
                        fixed + 64 * per_point, ")");
  const std::int64_t count = tile_rows(o.workspace_bytes - fixed, per_point, o.max_pixels, chunk, points);

  const auto w_bytes = static_cast<std::size_t>(batch * style_dim) * 4;
  const auto style_bytes = static_cast<std::size_t>(batch * style_rows) * 4;
  if (w.bytes() < w_bytes) w = Buffer(w_bytes);
  copy_on_device(w.get(), w_in, w_bytes);
  if (styles.bytes() < style_bytes) styles = Buffer(style_bytes);
  graph.reserve(workspace, fixed + count * per_point);

  const std::int64_t tiles = (points + count - 1) / count * ((batch + chunk - 1) / chunk);
  const bool use_graph = o.graph && tiles <= 64;
  if (!use_graph) return record(batch, xy, width, points, out, o, fused, st, chunk, count);
  const GraphKey k{xy,
                   width,
                   w.get<float>(),
                   batch,
                   points,
                   out,
                   static_cast<int>(o.precision),
                   o.noise,
                   o.noise_seed,
                   o.first_point,
                   workspace.bytes(),
                   count,
                   fused,
                   st.accumulations};
  graph.launch(k, [&] { record(batch, xy, width, points, out, o, fused, st, chunk, count); });
}

void CipsEngine::render(const float* w, std::int64_t batch, const float* xy, std::int64_t points, float* out,
                        const CipsRenderOptions& options) {
  Impl& m = *impl_;
  const auto bytes = static_cast<std::size_t>(points) * 2 * sizeof(float);
  if (m.xy.bytes() < bytes) m.xy = Buffer(bytes);
  copy_to_device(m.xy.get(), xy, bytes);
  m.run(w, batch, m.xy.get<float>(), 0, points, out, options);
}

void CipsEngine::render_grid(const float* w, std::int64_t batch, const std::vector<float>& xs,
                             const std::vector<float>& ys, float* out, const CipsRenderOptions& options) {
  Impl& m = *impl_;
  // Reallocated only when the grid grows, so that a captured graph keeps valid pointers.
  if (m.xs.bytes() < xs.size() * 4) m.xs = Buffer(xs.size() * 4);
  if (m.ys.bytes() < ys.size() * 4) m.ys = Buffer(ys.size() * 4);
  copy_to_device(m.xs.get(), xs.data(), xs.size() * 4);
  copy_to_device(m.ys.get(), ys.data(), ys.size() * 4);
  m.run(w, batch, nullptr, static_cast<std::int64_t>(xs.size()), static_cast<std::int64_t>(xs.size() * ys.size()), out,
        options);
}

}  // namespace pixsyn::backend::cuda
