#pragma once
// The reverse pass: backward() accumulates into leaf gradients, grad() returns gradients of chosen
// inputs. Nodes are visited in reverse topological order from an explicit stack, never recursively.
// backward() tells a leaf's GradientObserver (autograd/gradient_observer.hpp) when its gradient is final.
#include <algorithm>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pixsyn/autograd/functions/arithmetic.hpp"
#include "pixsyn/autograd/gradient_observer.hpp"
#include "pixsyn/autograd/var.hpp"

namespace pixsyn::autograd {

struct GradOptions {
  // Record the backward pass itself, so the returned gradients can be differentiated again (R1).
  bool create_graph = false;
};

namespace detail {

// Nodes reachable from `outputs` that require a gradient, in topological order (inputs first).
template <class T, class D>
std::vector<Node<T, D>*> topological_order(const std::vector<Var<T, D>>& outputs) {
  std::vector<Node<T, D>*> order;
  std::unordered_map<Node<T, D>*, bool> visited;
  std::vector<std::pair<Node<T, D>*, std::size_t>> stack;
  for (const auto& out : outputs) {
    if (!out.requires_grad() || visited[out.node().get()]) continue;
    visited[out.node().get()] = true;
    stack.emplace_back(out.node().get(), 0);
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->inputs.size()) {
        Node<T, D>* child = node->inputs[next++].node().get();
        if (child && child->requires_grad && !visited[child]) {
          visited[child] = true;
          stack.emplace_back(child, 0);
        }
      } else {
        order.push_back(node);
        stack.pop_back();
      }
    }
  }
  return order;
}

template <class T, class D>
Var<T, D> ones_like(const Var<T, D>& v) {
  return Var<T, D>(Tensor<T, D>::ones(v.shape()));
}

template <class T, class D>
void add_to_leaf_gradient(Node<T, D>* leaf, const Var<T, D>& g) {
  leaf->grad = leaf->grad ? add(Var<T, D>(leaf->grad), g).node() : g.node();
}

// The observed leaves of a pass and how many of its nodes consume each: the last of those to run makes the
// leaf's gradient final. That is often long before the leaf's own turn in the reverse topological order (the
// depth-first order puts a weight that is an op's first input ahead of the whole subgraph of the others).
template <class T, class D>
class ObservedLeaves {
 public:
  ObservedLeaves(const std::vector<Node<T, D>*>& order, bool observe) {
    if (!observe) return;
    for (auto* node : order)
      if (node->inputs.empty() && node->observer != nullptr) {
        consumers_.emplace(node, 0);
        leaves_.push_back(node);
      }
    if (consumers_.empty()) return;
    for (auto* node : order)
      for (const auto& in : node->inputs)
        if (auto it = consumers_.find(in.node().get()); it != consumers_.end()) ++it->second;
    // The order the pass will finish them in, whatever the gradients (a node without one counts as run).
    std::vector<std::pair<GradientObserver<T, D>*, std::vector<Node<T, D>*>>> groups;
    const auto finishes = [&](Node<T, D>* leaf) {
      auto group = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == leaf->observer; });
      if (group == groups.end()) {
        groups.emplace_back(leaf->observer, std::vector<Node<T, D>*>{});
        group = groups.end() - 1;
      }
      group->second.push_back(leaf);
    };
    auto left = consumers_;
    start_with(left, finishes);
    for (auto it = order.rbegin(); it != order.rend(); ++it) ran_with(left, *it, finishes);
    for (const auto& [observer, leaves] : groups) observer->backward_begins(leaves);
  }

  // Before the first node runs: the leaves no node consumes (outputs themselves) are final already.
  template <class Finish>
  void start(Finish&& finish) {
    start_with(consumers_, finish);
  }

  // After `node` ran, or was passed over for having no gradient: finish(leaf) for each leaf it was the last
  // consumer of.
  template <class Finish>
  void ran(const Node<T, D>* node, Finish&& finish) {
    if (!consumers_.empty()) ran_with(consumers_, node, finish);
  }

 private:
  using Counts = std::unordered_map<Node<T, D>*, int>;

  template <class Finish>
  void start_with(const Counts& counts, Finish&& finish) const {
    for (auto* leaf : leaves_)
      if (counts.at(leaf) == 0) finish(leaf);
  }
  template <class Finish>
  static void ran_with(Counts& counts, const Node<T, D>* node, Finish&& finish) {
    for (const auto& in : node->inputs)
      if (auto it = counts.find(in.node().get()); it != counts.end() && --it->second == 0) finish(it->first);
  }

  std::vector<Node<T, D>*> leaves_;  // in the topological order
  Counts consumers_;                 // consumers left to run, per observed leaf
};

// Runs the reverse pass; returns every reached node's total gradient (leaves and `keep` nodes only). With
// `observe` (backward()), an observed leaf's gradient goes into its `grad` instead, as soon as it is final,
// and its observer is told.
template <class T, class D>
std::unordered_map<Node<T, D>*, Var<T, D>> run_backward(const std::vector<Var<T, D>>& outputs,
                                                        const std::vector<Var<T, D>>& grad_outputs,
                                                        const std::vector<Node<T, D>*>& keep, GradOptions options,
                                                        bool observe = false) {
  pixsyn::detail::check(grad_outputs.empty() || grad_outputs.size() == outputs.size(),
                        "backward: ", grad_outputs.size(), " output gradients given for ", outputs.size(), " outputs");
  const bool caller_records = grad_enabled();
  std::unordered_map<Node<T, D>*, Var<T, D>> grads;
  auto accumulate = [&](Node<T, D>* node, const Var<T, D>& g) {
    pixsyn::detail::check(g.shape() == node->value.shape(), "backward: gradient of shape ", g.shape(),
                          " for a value of shape ", node->value.shape(), " (op '", node->op, "')");
    auto it = grads.find(node);
    if (it == grads.end()) {
      grads.emplace(node, g);
    } else {
      std::optional<enable_grad> recording;
      if (options.create_graph) recording.emplace();
      it->second = add(it->second, g);
    }
  };
  std::vector<Var<T, D>> roots;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const auto& out = outputs[i];
    pixsyn::detail::check(out.defined(), "backward: output ", i, " is undefined");
    if (!out.requires_grad()) continue;
    Var<T, D> seed;
    if (grad_outputs.empty()) {
      pixsyn::detail::check(out.numel() == 1, "backward: output ", i, " has shape ", out.shape(),
                            "; pass an output gradient for a non-scalar output");
      seed = ones_like(out);
    } else {
      seed = grad_outputs[i];
    }
    accumulate(out.node().get(), seed);
    roots.push_back(out);
  }
  const auto order = topological_order(roots);
  std::unordered_map<Node<T, D>*, bool> kept;
  for (auto* k : keep) kept[k] = true;

  std::unordered_map<Node<T, D>*, Var<T, D>> result;
  no_grad outer;  // only the backward rules record, and only with create_graph
  ObservedLeaves<T, D> observed(order, observe);
  const auto finish = [&](Node<T, D>* leaf) {
    if (auto found = grads.find(leaf); found != grads.end()) {
      std::optional<enable_grad> recording;  // as backward() adds the unobserved leaves' gradients
      if (caller_records) recording.emplace();
      add_to_leaf_gradient(leaf, found->second);
      grads.erase(found);
    }
    leaf->observer->gradient_ready(leaf);
  };
  observed.start(finish);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node<T, D>* node = *it;
    auto found = grads.find(node);
    if (found == grads.end()) {
      observed.ran(node, finish);
      continue;
    }
    Var<T, D> g = std::move(found->second);
    grads.erase(found);
    if (node->inputs.empty() || kept.count(node)) result.emplace(node, g);
    if (node->inputs.empty()) continue;
    pixsyn::detail::check(!options.create_graph || node->twice_differentiable, "op '", node->op,
                          "' has no second derivative: it cannot be differentiated with create_graph = true");
    std::vector<Var<T, D>> input_grads;
    {
      std::optional<enable_grad> recording;
      if (options.create_graph) recording.emplace();
      input_grads = node->backward(g, node->inputs, Var<T, D>(node->shared_from_this()));
    }
    pixsyn::detail::check(input_grads.size() == node->inputs.size(), "backward of op '", node->op, "' returned ",
                          input_grads.size(), " gradients for ", node->inputs.size(), " inputs");
    for (std::size_t k = 0; k < input_grads.size(); ++k) {
      Node<T, D>* child = node->inputs[k].node().get();
      if (child && child->requires_grad && input_grads[k].defined()) accumulate(child, input_grads[k]);
    }
    observed.ran(node, finish);
  }
  return result;
}

}  // namespace detail

// Gradients of sum(outputs) (or of <outputs, grad_outputs>) with respect to `inputs`. An input the
// outputs do not depend on gets a zero gradient.
template <class T, class D>
std::vector<Var<T, D>> grad(const std::vector<Var<T, D>>& outputs, const std::vector<Var<T, D>>& inputs,
                            GradOptions options = {}, const std::vector<Var<T, D>>& grad_outputs = {}) {
  std::vector<detail::Node<T, D>*> keep;
  for (const auto& in : inputs) {
    pixsyn::detail::check(in.defined(), "grad: an input is undefined");
    keep.push_back(in.node().get());
  }
  auto found = detail::run_backward(outputs, grad_outputs, keep, options);
  std::vector<Var<T, D>> result;
  for (const auto& in : inputs) {
    auto it = found.find(in.node().get());
    result.push_back(it != found.end() ? it->second : Var<T, D>(Tensor<T, D>::zeros(in.shape())));
  }
  return result;
}

template <class T, class D>
Var<T, D> grad(const Var<T, D>& output, const Var<T, D>& input, GradOptions options = {}) {
  return grad(std::vector<Var<T, D>>{output}, std::vector<Var<T, D>>{input}, options)[0];
}

// Adds d(output)/d(leaf) into leaf.grad() for every leaf that requires a gradient; an observed leaf's
// observer is told as soon as its gradient is final (autograd/gradient_observer.hpp).
template <class T, class D>
void backward(const Var<T, D>& output, GradOptions options = {}, const Var<T, D>& grad_output = {}) {
  std::vector<Var<T, D>> grad_outputs;
  if (grad_output.defined()) grad_outputs.push_back(grad_output);
  auto found = detail::run_backward(std::vector<Var<T, D>>{output}, grad_outputs, {}, options, true);
  for (auto& [node, g] : found)
    if (node->inputs.empty()) detail::add_to_leaf_gradient(node, g);
}

}  // namespace pixsyn::autograd
