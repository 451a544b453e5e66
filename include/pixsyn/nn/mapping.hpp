#pragma once
// The StyleGAN2 mapping network z -> w: PixelNorm, then n EqualLinear layers with fused leaky ReLU.
// Parameters are named "1" ... "n" because index 0 of the official nn.Sequential is the PixelNorm.
#include <memory>
#include <string>
#include <vector>

#include "pixsyn/autograd/functions/math.hpp"
#include "pixsyn/autograd/functions/reduce.hpp"
#include "pixsyn/nn/equal_linear.hpp"

namespace pixsyn::nn {

// x * rsqrt(mean(x^2 over the last axis) + eps)
template <class V>
V pixel_norm(const V& x, double eps = 1e-8) {
  using T = typename V::value_type;
  return mul(x, rsqrt(add(mean(square(x), {-1}, true), static_cast<T>(eps))));
}

template <class T, class D = Cpu>
class Mapping : public Module<T, D> {
 public:
  Mapping(std::int64_t style_dim, int layers, double lr_mul, Philox& gen) {
    for (int i = 0; i < layers; ++i) {
      layers_.push_back(std::make_unique<EqualLinear<T, D>>(style_dim, style_dim, gen,
                                                            EqualLinearOptions{.lr_mul = lr_mul, .fused_lrelu = true}));
      this->register_module(std::to_string(i + 1), *layers_.back());
    }
  }

  // z (B, style_dim) -> w (B, style_dim)
  template <class V>
  V operator()(const V& z) const {
    V x = pixel_norm(z);
    for (const auto& layer : layers_) x = (*layer)(x);
    return x;
  }

 private:
  std::vector<std::unique_ptr<EqualLinear<T, D>>> layers_;
};

}  // namespace pixsyn::nn
