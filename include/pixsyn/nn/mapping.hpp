#pragma once
// The StyleGAN2 mapping network z -> w: normalise z to unit second moment, then n equalized linear
// layers with fused leaky ReLU(0.2) * sqrt(2). The maths is shared; MappingNames says how a family
// names it: rosinality's nn.Sequential ("1" ... "n", index 0 being the normalisation, as in CIPS) or
// StyleGAN3's "fc0" ... "fc{n-1}" after the "w_avg" buffer (the tracked mean of w, CREPS's truncation
// centre).
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
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

// w -> center + psi (w - center): the truncation trick in w space (CIPS truncates toward a sampled
// mean of w, CREPS toward its tracked "w_avg" buffer). center broadcasts against w.
template <class V>
V truncate(const V& w, const V& center, double psi) {
  using T = typename V::value_type;
  return add(center, mul(sub(w, center), static_cast<T>(psi)));
}

struct MappingNames {
  std::string layer_prefix;  // layer i is named layer_prefix + (first_index + i)
  int first_index = 1;
  bool w_avg = false;  // registers the "w_avg" buffer (style_dim), zeros until loaded, before the layers

  static MappingNames rosinality() { return {.layer_prefix = "", .first_index = 1, .w_avg = false}; }
  static MappingNames stylegan3() { return {.layer_prefix = "fc", .first_index = 0, .w_avg = true}; }
};

template <class T, class D = Cpu>
class Mapping : public Module<T, D> {
 public:
  Mapping(std::int64_t style_dim, int layers, double lr_mul, Philox& gen,
          const MappingNames& names = MappingNames::rosinality()) {
    if (names.w_avg) {
      w_avg = Tensor<T, D>::zeros({style_dim});
      this->register_buffer("w_avg", w_avg);
    }
    for (int i = 0; i < layers; ++i) {
      layers_.push_back(std::make_unique<EqualLinear<T, D>>(style_dim, style_dim, gen,
                                                            EqualLinearOptions{.lr_mul = lr_mul, .fused_lrelu = true}));
      this->register_module(names.layer_prefix + std::to_string(names.first_index + i), *layers_.back());
    }
  }

  // z (B, style_dim) -> w (B, style_dim)
  template <class V>
  V operator()(const V& z) const {
    V x = pixel_norm(z);
    for (const auto& layer : layers_) x = (*layer)(x);
    return x;
  }

  // The training forward's tracking of the mean of w (StyleGAN2-ADA's update_w_avg):
  // w_avg <- mean_b w + beta (w_avg - mean_b w), with beta 0.995 (SG2-ADA, ALIS) or 0.998 (StyleGAN3, CREPS).
  void track_w_avg(const Tensor<T, D>& w, double beta) {
    pixsyn::detail::check(
        w_avg.defined() && w.rank() == 2 && w.dim(1) == w_avg.dim(0) && w.dim(0) > 0 && beta >= 0 && beta <= 1,
        "Mapping::track_w_avg: w has shape ", w.shape(), " for a w_avg of shape ",
        w_avg.defined() ? w_avg.shape() : Shape{}, " (beta ", beta, ")");
    const Tensor<T, D> batch_mean = mean(w, {0});
    Tensor<T, D> tracked = add(batch_mean, mul(sub(w_avg, batch_mean), static_cast<T>(beta)));
    w_avg = std::move(tracked);  // the registered buffer is this member: it now holds the new values
  }

  std::size_t size() const { return layers_.size(); }
  const EqualLinear<T, D>& operator[](std::size_t i) const { return *layers_.at(i); }

  Tensor<T, D> w_avg;  // defined only with MappingNames::w_avg

 private:
  std::vector<std::unique_ptr<EqualLinear<T, D>>> layers_;
};

}  // namespace pixsyn::nn
