#pragma once
// The reverse pass: backward() accumulates into leaf gradients, grad() returns gradients of chosen
// inputs. Nodes are visited in reverse topological order from an explicit stack, never recursively.
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pixsyn/autograd/functions/arithmetic.hpp"
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

// Runs the reverse pass; returns every reached node's total gradient (leaves and `keep` nodes only).
template <class T, class D>
std::unordered_map<Node<T, D>*, Var<T, D>> run_backward(const std::vector<Var<T, D>>& outputs,
                                                        const std::vector<Var<T, D>>& grad_outputs,
                                                        const std::vector<Node<T, D>*>& keep, GradOptions options) {
  pixsyn::detail::check(grad_outputs.empty() || grad_outputs.size() == outputs.size(),
                        "backward: ", grad_outputs.size(), " output gradients given for ", outputs.size(), " outputs");
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
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node<T, D>* node = *it;
    auto found = grads.find(node);
    if (found == grads.end()) continue;
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

// Adds d(output)/d(leaf) into leaf.grad() for every leaf that requires a gradient.
template <class T, class D>
void backward(const Var<T, D>& output, GradOptions options = {}, const Var<T, D>& grad_output = {}) {
  std::vector<Var<T, D>> grad_outputs;
  if (grad_output.defined()) grad_outputs.push_back(grad_output);
  auto found = detail::run_backward(std::vector<Var<T, D>>{output}, grad_outputs, {}, options);
  for (auto& [node, g] : found) {
    if (!node->inputs.empty()) continue;
    node->grad = node->grad ? add(Var<T, D>(node->grad), g).node() : g.node();
  }
}

}  // namespace pixsyn::autograd
