#pragma once
// train::Adam: torch.optim.Adam (no weight decay, no amsgrad) over named parameters, on the CPU or the
// GPU (the parameters' device). Its state (moments and step counts) is saved and loaded by parameter
// name, so a checkpoint survives a change in the order parameters are listed.
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "pixsyn/autograd/var.hpp"
#include "pixsyn/backend/cuda/optim.hpp"
#include "pixsyn/core/error.hpp"
#include "pixsyn/nn/module.hpp"
#include "pixsyn/ops/transfer.hpp"

namespace pixsyn::train {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  // Step a parameter that the backward pass did not reach as if its gradient were zero (its moments
  // decay and its step count advances), as torch < 2.0 did after zero_grad(), which left zero tensors:
  // the official StyleGAN2 loops ran so, e.g. for the biases an R1 step does not reach. Off: torch's
  // set_to_none behaviour, such a parameter is left alone.
  bool zero_missing_gradients = false;
};

// StyleGAN2's lazy-regularisation correction for a network whose regulariser runs every `interval`
// steps with its own optimizer step: lr · k/(k+1), β₁^(k/(k+1)), β₂^(k/(k+1)) with k = interval (k = 16
// for D's R1: lr 0.002 -> 0.0018824, β₂ 0.99 -> 0.99059; k = 4 for G's path length). interval 0: none.
inline AdamOptions lazy_regularized(AdamOptions options, int interval) {
  pixsyn::detail::check(interval >= 0, "lazy_regularized: interval ", interval, " is negative");
  if (interval == 0) return options;
  const double ratio = static_cast<double>(interval) / (interval + 1);
  options.lr *= ratio;
  options.beta1 = std::pow(options.beta1, ratio);
  options.beta2 = std::pow(options.beta2, ratio);
  return options;
}

template <class T, class Device = Cpu>
class Adam {
 public:
  using NamedParameters = std::vector<std::pair<std::string, Var<T, Device>*>>;

  explicit Adam(NamedParameters params, AdamOptions options = {}) : options_(options) {
    static_assert(std::is_floating_point_v<T>, "Adam needs floating-point parameters");
    std::map<std::string, bool> seen;
    for (auto& [name, p] : params) {
      pixsyn::detail::check(p != nullptr && p->defined(), "Adam: parameter '", name, "' is undefined");
      pixsyn::detail::check(p->requires_grad() && p->is_leaf(), "Adam: '", name,
                            "' is not a leaf that requires a gradient");
      pixsyn::detail::check(!seen[name], "Adam: the parameter name '", name, "' is listed twice");
      seen[name] = true;
      slots_.push_back({name, p, Tensor<T, Device>::zeros(p->shape()), Tensor<T, Device>::zeros(p->shape()), 0});
    }
  }

  AdamOptions& options() { return options_; }
  const AdamOptions& options() const { return options_; }

  // One update of every parameter that has a gradient. Like torch, a parameter without a gradient
  // keeps its moments and its own step count unchanged, unless zero_missing_gradients. On the GPU each
  // parameter is one fused kernel (backend/cuda/optim.hpp) with the CPU loop's arithmetic.
  void step() {
    if (gradient_hook_) gradient_hook_(parameters());
    const double b1 = options_.beta1, b2 = options_.beta2;
    for (auto& s : slots_) {
      const Var<T, Device> g = s.param->grad();
      if (!g.defined() && !options_.zero_missing_gradients) continue;
      pixsyn::detail::check(!g.defined() || g.shape() == s.param->shape(), "Adam: gradient of shape ", g.shape(),
                            " for parameter '", s.name, "' of shape ", s.param->shape());
      ++s.step;
      const double step_size = options_.lr / (1 - std::pow(b1, static_cast<double>(s.step)));
      const double correction2_sqrt = std::sqrt(1 - std::pow(b2, static_cast<double>(s.step)));
      // nullptr: a zero gradient. Writes into the leaf's own storage: no graph records this, and nothing
      // else shares it (state_dict and load_state_dict copy).
      const T* gd = g.defined() ? g.value().data() : nullptr;
      T* md = s.exp_avg.data();
      T* vd = s.exp_avg_sq.data();
      T* pd = s.param->value().data();
      const std::int64_t n = s.param->numel();
      if constexpr (std::is_same_v<Device, Cuda>) {
        backend::cuda::adam_update(pd, gd, md, vd, n,
                                   {.beta1 = b1,
                                    .beta2 = b2,
                                    .eps = options_.eps,
                                    .step_size = step_size,
                                    .correction2_sqrt = correction2_sqrt});
      } else {
#pragma omp parallel for if (n > (1 << 16))
        for (std::int64_t i = 0; i < n; ++i) {
          const double gi = gd != nullptr ? static_cast<double>(gd[i]) : 0.0;
          md[i] = static_cast<T>(b1 * md[i] + (1 - b1) * gi);
          vd[i] = static_cast<T>(b2 * vd[i] + (1 - b2) * gi * gi);
          pd[i] -= static_cast<T>(step_size * md[i] /
                                  (std::sqrt(static_cast<double>(vd[i])) / correction2_sqrt + options_.eps));
        }
      }
    }
  }

  // Called at the start of every step with the parameters, before their gradients are read: data-parallel
  // training averages the gradients over the ranks there (dist/buckets.hpp).
  void set_gradient_hook(std::function<void(const std::vector<Var<T, Device>*>&)> hook) {
    gradient_hook_ = std::move(hook);
  }

  void zero_grad() {
    for (auto& s : slots_) s.param->zero_grad();
  }

  // The parameters it updates, in the order they were given.
  std::vector<Var<T, Device>*> parameters() const {
    std::vector<Var<T, Device>*> out;
    for (const auto& s : slots_) out.push_back(s.param);
    return out;
  }

  // "<name>.exp_avg", "<name>.exp_avg_sq" (parameter-shaped) and "<name>.step" (a scalar) per parameter.
  nn::StateDict<T, Device> state_dict() const {
    nn::StateDict<T, Device> out;
    for (const auto& s : slots_) {
      out.emplace(s.name + ".exp_avg", s.exp_avg.clone());
      out.emplace(s.name + ".exp_avg_sq", s.exp_avg_sq.clone());
      out.emplace(s.name + ".step", Tensor<T, Device>::scalar(static_cast<T>(s.step)));
    }
    return out;
  }

  // Checks every key (reporting all missing, unexpected and wrongly shaped ones at once), then copies.
  void load_state_dict(const nn::StateDict<T, Device>& state) {
    std::map<std::string, Shape> expected;
    for (const auto& s : slots_) {
      expected.emplace(s.name + ".exp_avg", s.param->shape());
      expected.emplace(s.name + ".exp_avg_sq", s.param->shape());
      expected.emplace(s.name + ".step", Shape{});
    }
    nn::detail::validate_state_dict("Adam::load_state_dict", expected, state, true);
    for (auto& s : slots_) {
      const T step = pixsyn::detail::on_host(state.at(s.name + ".step")).item();
      pixsyn::detail::check(step >= 0 && step == std::floor(step), "Adam::load_state_dict: '", s.name, ".step' is ",
                            step, ", not a step count");
      s.exp_avg = state.at(s.name + ".exp_avg").clone();
      s.exp_avg_sq = state.at(s.name + ".exp_avg_sq").clone();
      s.step = static_cast<std::int64_t>(step);
    }
  }

 private:
  struct Slot {
    std::string name;
    Var<T, Device>* param;
    Tensor<T, Device> exp_avg, exp_avg_sq;
    std::int64_t step;
  };
  AdamOptions options_;
  std::vector<Slot> slots_;
  std::function<void(const std::vector<Var<T, Device>*>&)> gradient_hook_;
};

}  // namespace pixsyn::train
