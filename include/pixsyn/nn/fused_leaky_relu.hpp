#pragma once
// rosinality's FusedLeakyReLU as a module: it holds only the bias ("bias", init 0) that the fused
// bias + leaky ReLU(0.2) · √2 adds first (CIPS's "activate.bias", the discriminator's ConvLayer).
#include <cstdint>

#include "pixsyn/nn/init.hpp"
#include "pixsyn/nn/module.hpp"

namespace pixsyn::nn {

template <class T, class D = Cpu>
class FusedLeakyRelu : public Module<T, D> {
 public:
  explicit FusedLeakyRelu(std::int64_t channels) : bias(init::constant<T, D>({channels}, T(0))) {
    this->register_parameter("bias", bias);
  }
  Var<T, D> bias;
};

}  // namespace pixsyn::nn
