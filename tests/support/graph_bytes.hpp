#pragma once
// The memory an autograd graph holds: every recorded node keeps its value until the graph is released, so
// the bytes a training step saves for its backward pass are those of the values reachable from its output.
#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "pixsyn/autograd/var.hpp"

namespace pixsyn::test {

// Bytes of the distinct values of the recorded nodes and constants reachable from `output`, the parameters
// (leaves that require a gradient, which exist without the graph) and views of them left out. Values are
// told apart by their data pointer, so a reshape view counts once.
template <class T, class D>
std::int64_t graph_bytes(const Var<T, D>& output) {
  std::unordered_set<const void*> parameters;
  std::unordered_map<const void*, std::int64_t> values;
  std::unordered_set<const void*> seen;
  std::vector<const typename Var<T, D>::Node*> stack{output.node().get()};
  while (!stack.empty()) {
    const auto* node = stack.back();
    stack.pop_back();
    if (!node || !seen.insert(node).second) continue;
    const void* data = node->value.data();
    if (node->inputs.empty() && node->requires_grad)
      parameters.insert(data);
    else
      values[data] = std::max(values[data], node->value.numel() * std::int64_t(sizeof(T)));
    for (const auto& in : node->inputs) stack.push_back(in.node().get());
  }
  std::int64_t bytes = 0;
  for (const auto& [data, size] : values)
    if (!parameters.count(data)) bytes += size;
  return bytes;
}

}  // namespace pixsyn::test
