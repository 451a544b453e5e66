#pragma once
// What every family's Model implementation shares: instantiating a variant at every registered size,
// and the parameter table. Included only by the family translation units (cips_model.hpp, creps_model.hpp).
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "memory.hpp"
#include "model.hpp"
#include "trainable.hpp"

namespace pixsyn::cli::detail {

// Model<Variant<size>> for the registered `size`; null for another one.
template <template <class> class Model, template <int, class, class> class Variant, std::size_t... I>
std::unique_ptr<cli::Model> make_sized(int size, std::uint64_t seed, std::index_sequence<I...>) {
  std::unique_ptr<cli::Model> out;
  // The fold stops at the matching size; its value is not needed (clang warns when it is dropped silently).
  (void)((size == model_sizes[I] ? (out = std::make_unique<Model<Variant<model_sizes[I], float, Cpu>>>(seed), true)
                                 : false) ||
         ...);
  return out;
}

template <template <class> class Model, template <int, class, class> class Variant>
std::unique_ptr<cli::Model> make_sized(int size, std::uint64_t seed) {
  return make_sized<Model, Variant>(size, seed, std::make_index_sequence<model_sizes.size()>{});
}

// Model<Narrow<size, max_channels>> for an entry of `Variants` (trainable.hpp); null for another pair.
template <template <class> class Model, template <int, int, class, class> class Narrow, const auto& Variants>
std::unique_ptr<cli::Model> make_narrow(int size, int max_channels, std::uint64_t seed) {
  std::unique_ptr<cli::Model> out;
  dispatch_variant<Variants>(size, max_channels, [&]<TrainVariant V>() {
    using M = Model<Narrow<V.size, V.max_channels, float, Cpu>>;
    static_assert(M::caps.cuda, "a variant that pixsyn train writes has a CUDA renderer (train --eval-every)");
    out = std::make_unique<M>(seed);
  });
  return out;
}

// The narrow_list of a ModelEntry (model.hpp) whose variants are `Variants`.
template <const auto& Variants>
std::string narrow_list() {
  return variant_list(Variants);
}

#ifdef PIXSYN_WITH_CUDA
// A model's fused GPU renderer (render::CudaCips, CudaCreps), built from its CPU weights at the first
// render_cuda and dropped when they change (Model::load): a caller that renders batch after batch (pixsyn eval,
// train --eval-every) uploads the weights once. Type-erased, because only the models with a CUDA path may
// instantiate their renderer type; a model asks for one type only.
class GpuRendererCache {
 public:
  template <class Renderer, class G>
  Renderer& get(const G& g) {
    if (!renderer_) renderer_ = std::make_shared<Renderer>(g);
    return *static_cast<Renderer*>(renderer_.get());
  }
  void reset() { renderer_.reset(); }

 private:
  std::shared_ptr<void> renderer_;
};
#endif

// Every parameter of a generator, in state-dict order.
template <class G>
std::vector<ParameterInfo> parameter_table(const G& g) {
  std::vector<ParameterInfo> out;
  for (const auto& [name, p] : g.named_parameters()) out.push_back({name, p->shape()});
  return out;
}

}  // namespace pixsyn::cli::detail
