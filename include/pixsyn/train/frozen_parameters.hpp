#pragma once
// train::detail::FrozenParameters: while in scope, the parameters require no gradient (torch's
// requires_grad_(False), as the official loops toggle it): a backward pass through their network computes
// only the gradients of its inputs. The G phases of both training loops (train/gan_step.hpp,
// train/stylegan2_ada_step.hpp) run D so, sparing the weight gradients of D's layers, which nothing reads.
#include <utility>
#include <vector>

#include "pixsyn/autograd/var.hpp"

namespace pixsyn::train::detail {

template <class T, class Device>
class FrozenParameters {
 public:
  explicit FrozenParameters(std::vector<Var<T, Device>*> params) : params_(std::move(params)) {
    for (auto* p : params_) p->node()->requires_grad = false;
  }
  ~FrozenParameters() {
    for (auto* p : params_) p->node()->requires_grad = true;
  }
  FrozenParameters(const FrozenParameters&) = delete;
  FrozenParameters& operator=(const FrozenParameters&) = delete;

 private:
  std::vector<Var<T, Device>*> params_;
};

}  // namespace pixsyn::train::detail
