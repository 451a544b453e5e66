#pragma once
// GeneratorModel<G>: the Model interface over one generator type, and make_family, which instantiates
// a variant template at every registered size. Included only by the family_*.cpp translation units.
#include <utility>

#include "model.hpp"
#include "pixsyn/models/cips.hpp"
#include "pixsyn/nn/serialize.hpp"
#ifdef PIXSYN_WITH_CUDA
#include "pixsyn/render/cuda_cips.hpp"
#endif

namespace pixsyn::cli::detail {

// The models the fused GPU renderer serves: the official CIPSskip and CIPSres (Fourier features and the
// learned embedding, leaky ReLU). Only these instantiate render::CudaCips.
template <cips::Config C>
inline constexpr bool cuda_path = C.topology != cips::Topology::base&& C.embedding ==
                                  cips::Embedding::fourier_and_learned&& C.activation == cips::Activation::leaky_relu;

template <class G>
class GeneratorModel final : public Model {
 public:
  explicit GeneratorModel(std::uint64_t seed) : g_(seed) {}

  const cips::Config& config() const override { return G::config; }
  std::int64_t parameter_count() const override { return g_.parameter_count(); }
  std::vector<ParameterInfo> parameters() const override {
    std::vector<ParameterInfo> out;
    for (const auto& [name, p] : g_.named_parameters()) out.push_back({name, p->shape()});
    return out;
  }
  void load(const std::filesystem::path& path) override { nn::load_safetensors(g_, path); }
  Tensor<float> map(const Tensor<float>& z) const override { return g_.map(z); }
  Tensor<float> mean_w(std::int64_t samples, std::uint64_t seed) const override {
    return g_.mean_w(samples, Philox{seed});
  }
  Tensor<float> render(const Tensor<float>& w, const coords::PointSet<float>& grid,
                       const render::RenderOptions<float>& options) const override {
    return render::render_image(g_, w, grid, options);
  }
#ifdef PIXSYN_WITH_CUDA
  bool has_cuda_path() const override { return cuda_path<G::config>; }
  Tensor<float> render_cuda(const Tensor<float>& w, const coords::PointSet<float>& grid,
                            const render::CudaRenderOptions& options) const override {
    if constexpr (cuda_path<G::config>)
      return render::CudaCips<G::config>(g_).render_image(w, grid, options);
    else
      throw Error("render_cuda: this model has no CUDA fast path (see has_cuda_path)");
  }
#endif

 private:
  G g_;
};

template <template <int, class, class> class Variant, std::size_t... I>
std::unique_ptr<Model> make_sized(int size, std::uint64_t seed, std::index_sequence<I...>) {
  std::unique_ptr<Model> out;
  // The fold stops at the matching size; its value is not needed (clang warns when it is dropped silently).
  (void)((size == model_sizes[I]
              ? (out = std::make_unique<GeneratorModel<Variant<model_sizes[I], float, Cpu>>>(seed), true)
              : false) ||
         ...);
  return out;
}

template <template <int, class, class> class Variant>
std::unique_ptr<Model> make_family(int size, std::uint64_t seed) {
  return make_sized<Variant>(size, seed, std::make_index_sequence<model_sizes.size()>{});
}

}  // namespace pixsyn::cli::detail
