#pragma once
// The fast GPU inference path for CREPS (backend/cuda/creps_fast.hpp): takes a CPU creps::Generator's
// weights once, then renders w (B, w_dim) or ws (B, num_ws, w_dim) at any rows × columns grid or point set
// on the GPU, in tiles under a workspace budget, in fp32 (matches the CPU render) or the 16-bit mode (fp16
// operands, fp32 accumulation). Link pixsyn::cuda.
#include <cmath>
#include <cstdint>
#include <vector>

#include "pixsyn/backend/cuda/creps_fast.hpp"
#include "pixsyn/backend/cuda/runtime.hpp"
#include "pixsyn/models/creps/generator.hpp"
#include "pixsyn/render/detail/creps_weights.hpp"

namespace pixsyn::render {

using CudaCrepsOptions = backend::cuda::CrepsRenderOptions;

template <creps::Config C>
class CudaCreps {
  static_assert(C.features == creps::Features::biline,
                "CudaCreps: dense features (CREPS-NB) are not supported on the fast path (bi-line models are)");
  static_assert(C.refinement_blocks == 2,
                "CudaCreps: the fast path runs the two refinement blocks of the official model");
  static_assert(C.biline_channels == 16 || C.biline_channels == 32,
                "CudaCreps: the fast path supports 16 or 32 bi-line channels");

 public:
  explicit CudaCreps(const creps::Generator<C, float>& g) : engine_(detail::creps_weights(g)) {}

  // The grid of rows (H) × cols (W) coordinates -> (B, 3, H, W) on the GPU; w on the device.
  Tensor<float, Cuda> render_grid(const Tensor<float, Cuda>& w, const Tensor<float>& rows, const Tensor<float>& cols,
                                  const CudaCrepsOptions& options = {}) {
    check_w(w);
    auto out = Tensor<float, Cuda>::empty({w.dim(0), 3, rows.numel(), cols.numel()});
    engine_.render(w.data(), w.dim(0), w.rank() == 3, coordinates(rows, "rows"), coordinates(cols, "cols"), false,
                   out.data(), options);
    return out;
  }

  // The points (ys[p], xs[p]) -> (B, 3, P) on the GPU, each evaluated on its own (O(P)).
  Tensor<float, Cuda> render_points(const Tensor<float, Cuda>& w, const Tensor<float>& ys, const Tensor<float>& xs,
                                    const CudaCrepsOptions& options = {}) {
    check_w(w);
    pixsyn::detail::check(ys.numel() == xs.numel(), "CudaCreps: ", ys.numel(), " ys but ", xs.numel(), " xs");
    auto out = Tensor<float, Cuda>::empty({w.dim(0), 3, ys.numel()});
    engine_.render(w.data(), w.dim(0), w.rank() == 3, coordinates(ys, "ys"), coordinates(xs, "xs"), true, out.data(),
                   options);
    return out;
  }

  // render_grid from and to the host, as creps::Generator::synthesize_grid: (B, 3, H, W).
  Tensor<float> render_image(const Tensor<float>& w, const Tensor<float>& rows, const Tensor<float>& cols,
                             const CudaCrepsOptions& options = {}) {
    return to_host(render_grid(to_device(w), rows, cols, options));
  }

 private:
  static void check_w(const Tensor<float, Cuda>& w) {
    pixsyn::detail::check(w.dim(0) > 0 && ((w.rank() == 2 && w.dim(1) == C.w_dim) ||
                                           (w.rank() == 3 && w.dim(1) == C.num_ws() && w.dim(2) == C.w_dim)),
                          "CudaCreps: w has shape ", w.shape(), "; expected (batch, ", C.w_dim, ") or (batch, ",
                          C.num_ws(), ", ", C.w_dim, ")");
  }
  // A non-empty 1-D vector of finite coordinates, as the CPU generator requires.
  static std::vector<float> coordinates(const Tensor<float>& t, const char* name) {
    pixsyn::detail::check(t.defined() && t.rank() == 1 && t.numel() > 0, "CudaCreps: ", name,
                          " must be a non-empty 1-D coordinate vector, got shape ", t.defined() ? t.shape() : Shape{});
    auto v = t.to_vector();
    for (std::size_t i = 0; i < v.size(); ++i)
      pixsyn::detail::check(std::isfinite(v[i]), "CudaCreps: ", name, "[", i, "] = ", v[i], " is not finite");
    return v;
  }

  backend::cuda::CrepsEngine engine_;
};

}  // namespace pixsyn::render
