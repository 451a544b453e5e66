#pragma once
// The fast GPU inference path for CIPS (CIPSskip and CIPSres): takes a CPU generator's weights once, then
// renders w (B, style_dim) at a grid or point set on the GPU in tiles under a workspace budget, in fp32
// (matches the CPU render) or bf16 (bf16 weights and activations, fp32 accumulation). Link pixsyn::cuda.
#include <cmath>
#include <cstdint>
#include <vector>

#include "pixsyn/backend/cuda/cips_fast.hpp"
#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/coords/grid.hpp"
#include "pixsyn/models/cips/generator.hpp"
#include "pixsyn/render/detail/host_weights.hpp"

namespace pixsyn::render {

using backend::cuda::Precision;

struct CudaRenderOptions {
  Precision precision = Precision::fp32;
  nn::NoiseMode noise = nn::NoiseMode::off;  // off or seeded (the same numbers as the CPU's NoiseSource)
  std::uint64_t noise_seed = 0;
  std::uint64_t first_point = 0;  // the noise index of the first point (a band of a larger render: its offset)
  std::size_t workspace_bytes = std::size_t(512) << 20;  // GPU memory for a tile's activations and weights
  std::int64_t max_pixels = 0;  // (sample, point) pairs per tile; 0 chooses the most the budget allows
  bool graph = true;            // capture the call as a CUDA graph and replay it while the call repeats
  bool fused_layers = true;     // on an H100-class GPU (sm_90): one kernel per layer, GEMM and epilogue (bf16, fp32)
  // fp32 on a GPU with TF32 tensor cores: 3×TF32 GEMMs with this many accumulations (split_gemm.hpp); 0: SGEMM
  int tf32_split = backend::cuda::default_split_accumulations;
};

template <cips::Config C>
class CudaCips {
  static_assert(C.topology != cips::Topology::base,
                "CudaCips: the base topology is not supported on the fast path (CIPSskip and CIPSres are)");
  static_assert(C.activation == cips::Activation::leaky_relu,
                "CudaCips: only the leaky ReLU activation is supported on the fast path");

 public:
  explicit CudaCips(const cips::Generator<C, float>& g) : engine_(extract(g)) {}

  // Renders the official grid coords::grid(height, width) -> (B, 3, height, width) on the GPU.
  Tensor<float, Cuda> render_grid(const Tensor<float, Cuda>& w, std::int64_t height, std::int64_t width,
                                  const CudaRenderOptions& options = {}) {
    check_w(w);
    const auto xs = coords::linspace<float>(-1.0f, 1.0f, width), ys = coords::linspace<float>(-1.0f, 1.0f, height);
    auto out = Tensor<float, Cuda>::empty({w.dim(0), 3, height, width});
    engine_.render_grid(w.data(), w.dim(0), xs.to_vector(), ys.to_vector(), out.data(), engine_options(options));
    return out;
  }

  // Renders any point set (P, 2) -> (B, 3, P) on the GPU; noise indices are the points' positions in the set,
  // plus options.first_point.
  Tensor<float, Cuda> render_points(const Tensor<float, Cuda>& w, const coords::PointSet<float>& points,
                                    const CudaRenderOptions& options = {}) {
    check_w(w);
    pixsyn::detail::check(points.xy.rank() == 2 && points.xy.dim(1) == 2, "CudaCips: points have shape ",
                          points.xy.shape(), "; expected (P, 2)");
    auto out = Tensor<float, Cuda>::empty({w.dim(0), 3, points.size()});
    engine_.render(w.data(), w.dim(0), points.xy.data(), points.size(), out.data(), engine_options(options));
    return out;
  }

  // A grid point set -> images (B, 3, H, W) on the host.
  Tensor<float> render_image(const Tensor<float>& w, const coords::PointSet<float>& grid,
                             const CudaRenderOptions& options = {}) {
    pixsyn::detail::check(grid.is_grid(), "CudaCips::render_image: the point set is not a grid; use render_points");
    return to_host(render_points(to_device(w), grid, options)).reshape({w.dim(0), 3, grid.height, grid.width});
  }

 private:
  static void check_w(const Tensor<float, Cuda>& w) {
    pixsyn::detail::check(w.rank() == 2 && w.dim(0) > 0 && w.dim(1) == C.style_dim, "CudaCips: w has shape ", w.shape(),
                          "; expected (batch, ", C.style_dim, ")");
  }

  static backend::cuda::CipsRenderOptions engine_options(const CudaRenderOptions& o) {
    pixsyn::detail::check(o.noise != nn::NoiseMode::given,
                          "CudaCips: given noise maps are not supported on the fast path (use off or seeded)");
    return {.precision = o.precision,
            .noise = o.noise == nn::NoiseMode::seeded,
            .noise_seed = o.noise_seed,
            .first_point = o.first_point,
            .workspace_bytes = o.workspace_bytes,
            .max_pixels = o.max_pixels,
            .graph = o.graph,
            .fused_layers = o.fused_layers,
            .tf32_split = o.tf32_split};
  }

  // A modulated FC layer with the runtime scales the CPU applies (ModulatedFc, EqualLinear).
  static backend::cuda::ModulatedLayer layer(const nn::ModulatedFc<float>& fc) {
    const std::int64_t in = fc.in_channels(), out = fc.out_channels();
    return {.in = in,
            .out = out,
            .weight = detail::scaled(fc.weight.value(), 1.0 / std::sqrt(static_cast<double>(in))),
            .modulation = detail::scaled(fc.affine.weight.value(), 1.0 / std::sqrt(static_cast<double>(C.style_dim))),
            .modulation_bias = detail::values(fc.affine.bias.value()),
            .bias = {},
            .noise_weight = 0};
  }
  static backend::cuda::ModulatedLayer styled(const nn::StyledConv<float>& conv) {
    auto l = layer(conv.conv);
    l.bias = detail::values(conv.activate.bias.value());
    l.noise_weight = conv.noise.weight.value().data()[0];
    return l;
  }
  static backend::cuda::ModulatedLayer to_rgb(const nn::ToRgb<float>& t) {
    auto l = layer(t.conv);
    l.bias = detail::values(t.bias.value());
    return l;
  }

  static backend::cuda::CipsWeights extract(const cips::Generator<C, float>& g) {
    backend::cuda::CipsWeights wt;
    wt.style_dim = C.style_dim;
    wt.hidden = C.hidden;
    wt.table_size = C.size;
    wt.fourier = C.has_fourier();
    wt.learned = C.has_learned();
    wt.residual = C.topology == cips::Topology::residual;
    if constexpr (C.has_fourier()) {
      wt.fourier_weight = detail::values(g.lff->ffm.conv.weight.value());
      wt.fourier_bias = detail::values(g.lff->ffm.conv.bias.value());
    }
    if constexpr (C.has_learned()) {
      // (1, C, S, S) -> channels last (S, S, C), so that neighbouring channels are neighbours in memory.
      const auto table = g.emb->input.value();
      const std::int64_t c = C.hidden, n = std::int64_t(C.size) * C.size;
      wt.table.resize(static_cast<std::size_t>(c * n));
      for (std::int64_t k = 0; k < c; ++k)
        for (std::int64_t p = 0; p < n; ++p) wt.table[p * c + k] = table.data()[k * n + p];
    }
    wt.convs.push_back(styled(*g.first));
    if constexpr (C.topology == cips::Topology::residual) {
      for (const auto& block : g.blocks) {
        wt.convs.push_back(styled(block->conv1));
        wt.convs.push_back(styled(block->conv2));
        const auto& skip = block->skip;
        wt.shortcuts.push_back(
            skip.empty()
                ? std::vector<float>{}
                : detail::scaled(skip[0].weight.value(), 1.0 / std::sqrt(static_cast<double>(skip[0].weight.dim(1)))));
      }
      wt.to_rgbs.push_back(to_rgb(*g.to_rgb_last));
    } else {
      for (const auto& l : g.linears) wt.convs.push_back(styled(*l));
      for (const auto& t : g.to_rgbs) wt.to_rgbs.push_back(to_rgb(*t));
    }
    return wt;
  }

  backend::cuda::CipsEngine engine_;
};

}  // namespace pixsyn::render
