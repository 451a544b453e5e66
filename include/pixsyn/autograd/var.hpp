#pragma once
// Var<T, Device>: a tensor value that records the operations applied to it, for reverse-mode autograd.
// Layers are written once over the value type: Tensor (inference, no tape) or Var (training).
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "pixsyn/autograd/grad_mode.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn {

template <class T, class Device = Cpu>
class Var;

namespace autograd {
template <class T, class Device>
class GradientObserver;  // autograd/gradient_observer.hpp
}  // namespace autograd

namespace autograd::detail {

template <class T, class Device>
struct Node;

// Gradients of an op's inputs, given the gradient of its output. Receives its inputs and output as
// arguments (never captured), so graphs hold no reference cycles and can be freed iteratively.
template <class T, class Device>
using BackwardFn = std::function<std::vector<Var<T, Device>>(
    const Var<T, Device>& grad_output, const std::vector<Var<T, Device>>& inputs, const Var<T, Device>& output)>;

template <class T, class Device>
struct Node : std::enable_shared_from_this<Node<T, Device>> {
  Tensor<T, Device> value;
  bool requires_grad = false;
  const char* op = "leaf";
  std::vector<Var<T, Device>> inputs;  // empty for leaves and constants
  BackwardFn<T, Device> backward;
  bool twice_differentiable = true;
  std::shared_ptr<Node> grad;                       // accumulated by backward() on leaves
  GradientObserver<T, Device>* observer = nullptr;  // leaves: told when backward() has finished `grad`

  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  ~Node();
};

}  // namespace autograd::detail

template <class T, class Device>
class Var {
 public:
  using value_type = T;
  using device_type = Device;
  using Node = autograd::detail::Node<T, Device>;

  Var() = default;
  // A leaf; requires_grad = true makes it a parameter whose gradient backward() accumulates.
  explicit Var(Tensor<T, Device> value, bool requires_grad = false) : node_(std::make_shared<Node>()) {
    node_->value = std::move(value);
    node_->requires_grad = requires_grad;
  }
  static Var parameter(Tensor<T, Device> value) { return Var(std::move(value), true); }
  static Var constant(Tensor<T, Device> value) { return Var(std::move(value), false); }
  explicit Var(std::shared_ptr<Node> node) : node_(std::move(node)) {}

  bool defined() const { return node_ != nullptr; }
  const Tensor<T, Device>& value() const { return node_->value; }
  // Replaces a leaf's value in place (optimizer steps, loading weights); graphs must not hold it.
  void set_value(Tensor<T, Device> v) {
    pixsyn::detail::check(is_leaf(), "Var::set_value: only leaves can be assigned, not the output of '", node_->op,
                          "'");
    node_->value = std::move(v);
  }
  const Shape& shape() const { return node_->value.shape(); }
  int rank() const { return node_->value.rank(); }
  std::int64_t numel() const { return node_->value.numel(); }
  std::int64_t dim(int axis) const { return node_->value.dim(axis); }
  bool requires_grad() const { return node_ && node_->requires_grad; }
  bool is_leaf() const { return node_->inputs.empty(); }
  const char* op() const { return node_->op; }

  // The gradient accumulated by backward(); undefined until a backward pass reaches this leaf.
  Var grad() const { return node_->grad ? Var(node_->grad) : Var(); }
  void set_grad(const Var& g) { node_->grad = g.node_; }
  void zero_grad() { node_->grad.reset(); }

  // The same value, cut from the graph.
  Var detach() const { return Var(node_->value, false); }

  const std::shared_ptr<Node>& node() const { return node_; }

 private:
  std::shared_ptr<Node> node_;
};

namespace autograd::detail {

// Frees a long chain of nodes without recursion: a 100,000-op graph must not overflow the stack.
template <class T, class Device>
Node<T, Device>::~Node() {
  std::vector<std::shared_ptr<Node>> pending;
  auto take = [&](std::vector<Var<T, Device>>& vars) {
    for (auto& v : vars)
      if (v.node() && v.node().use_count() == 1) pending.push_back(v.node());
    vars.clear();
  };
  take(inputs);
  if (grad && grad.use_count() == 1) pending.push_back(std::move(grad));
  while (!pending.empty()) {
    std::shared_ptr<Node> n = std::move(pending.back());
    pending.pop_back();
    take(n->inputs);
    if (n->grad && n->grad.use_count() == 1) pending.push_back(std::move(n->grad));
    // n is released here with empty inputs, so its destructor does not recurse further.
  }
}

// Records an op result: a graph node when recording is on and some input requires a gradient,
// otherwise a constant.
template <class T, class Device>
Var<T, Device> record(const char* op, Tensor<T, Device> value, std::vector<Var<T, Device>> inputs,
                      BackwardFn<T, Device> backward, bool twice_differentiable = true) {
  bool needs = false;
  for (const auto& in : inputs) needs = needs || in.requires_grad();
  if (!needs || !grad_enabled()) return Var<T, Device>(std::move(value), false);
  auto node = std::make_shared<Node<T, Device>>();
  node->value = std::move(value);
  node->requires_grad = true;
  node->op = op;
  node->inputs = std::move(inputs);
  node->backward = std::move(backward);
  node->twice_differentiable = twice_differentiable;
  return Var<T, Device>(std::move(node));
}

}  // namespace autograd::detail

// The value of a parameter as the layer's value type: a Tensor for inference, the Var itself for training.
template <class V, class T, class Device>
decltype(auto) as_value(const Var<T, Device>& v) {
  if constexpr (std::is_same_v<V, Var<T, Device>>) {
    return (v);
  } else {
    static_assert(std::is_same_v<V, Tensor<T, Device>>, "as_value<V>: V must be Tensor<T, D> or Var<T, D>");
    return (v.value());
  }
}

// A plain tensor as the layer's value type: itself for inference, a constant (no gradient) Var for training.
template <class V, class T, class Device>
V as_constant(const Tensor<T, Device>& t) {
  if constexpr (std::is_same_v<V, Var<T, Device>>) {
    return Var<T, Device>::constant(t);
  } else {
    static_assert(std::is_same_v<V, Tensor<T, Device>>, "as_constant<V>: V must be Tensor<T, D> or Var<T, D>");
    return t;
  }
}

}  // namespace pixsyn
