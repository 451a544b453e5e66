#pragma once
// autograd::GradientObserver: told by backward() the moment a leaf's gradient of the pass is final, so that
// work on it can start while the rest of the pass runs (data-parallel training starts averaging a bucket of
// gradients over the ranks then: dist/overlapped_gradients.hpp). A leaf is observed while its node's
// `observer` points at one. A pass that reaches no observed leaf pays one check per node.
#include <vector>

#include "pixsyn/autograd/var.hpp"

namespace pixsyn::autograd {

template <class T, class Device>
class GradientObserver {
 public:
  using Node = detail::Node<T, Device>;

  // A backward() pass starts whose outputs depend on `leaves` (the ones this observes): each of them is
  // handed to gradient_ready before backward() returns, in this order (the graph's, the same on every run
  // of the same graph).
  virtual void backward_begins(const std::vector<Node*>& leaves) = 0;
  // leaf->grad now holds what it held plus the pass's gradient: no later node of the pass adds to it. It stays
  // undefined when neither the pass nor an earlier one gave it a gradient.
  virtual void gradient_ready(Node* leaf) = 0;

 protected:
  ~GradientObserver() = default;
};

}  // namespace pixsyn::autograd
