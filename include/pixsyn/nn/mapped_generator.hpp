#pragma once
// nn::MappedGenerator: the frame of the generators in StyleGAN3's layout (CREPS, ALIS) for a family Config C
// (w_dim, mapping_layers, mapping_lr_mul, num_ws()): a synthesis network and the mapping network, registered
// as "synthesis" and "mapping" in that order (the official state-dict order) and initialised from one Philox
// stream (synthesis first), and w_avg, the tracked mean of w that truncation pulls toward. A family's
// Generator derives from it (using its constructors) and adds map, its forwards and its checks.
#include <cstdint>

#include "pixsyn/core/philox.hpp"
#include "pixsyn/core/tensor.hpp"
#include "pixsyn/nn/mapping.hpp"
#include "pixsyn/nn/module.hpp"

namespace pixsyn::nn {

template <auto C, class Synthesis, class T, class D>
class MappedGenerator : public Module<T, D> {
 public:
  static constexpr auto config = C;
  static constexpr int num_ws = C.num_ws();

  explicit MappedGenerator(std::uint64_t seed = 0) : MappedGenerator(Philox{seed}) {}
  explicit MappedGenerator(Philox gen)
      : synthesis(gen), mapping(C.w_dim, C.mapping_layers, C.mapping_lr_mul, gen, MappingNames::stylegan3()) {
    this->register_module("synthesis", synthesis);
    this->register_module("mapping", mapping);
  }

  // The "mapping.w_avg" buffer (w_dim), the truncation centre.
  const Tensor<T, D>& w_avg() const { return mapping.w_avg; }

  Synthesis synthesis;
  Mapping<T, D> mapping;
};

}  // namespace pixsyn::nn
