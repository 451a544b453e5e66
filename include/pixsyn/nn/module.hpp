#pragma once
// nn::Module: the base of every layer. A module registers its parameters (Var leaves that require a
// gradient), buffers (plain tensors) and child modules by pointer under the official state-dict names,
// so names compose into dotted keys such as "linears.3.conv.weight". Registration stores pointers to
// members, which is why modules can be neither copied nor moved.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "pixsyn/autograd/var.hpp"
#include "pixsyn/core/error.hpp"
#include "pixsyn/core/tensor.hpp"

namespace pixsyn::nn {

struct LoadOptions {
  // When false, missing and unexpected keys are ignored (the matching keys still load); wrongly shaped
  // keys are always an error.
  bool strict = true;
};

template <class T, class Device = Cpu>
using StateDict = std::map<std::string, Tensor<T, Device>>;

namespace detail {

// Checks `given` against the expected keys and shapes; throws one pixsyn::Error that lists every
// missing, unexpected and wrongly shaped key. `what` names the caller in the message.
template <class T, class Device>
void validate_state_dict(const char* what, const std::map<std::string, Shape>& expected,
                         const StateDict<T, Device>& given, bool strict) {
  std::vector<std::string> missing, unexpected, misshaped;
  for (const auto& [name, shape] : expected) {
    auto it = given.find(name);
    if (it == given.end()) {
      missing.push_back(name);
    } else if (!(it->second.shape() == shape)) {
      misshaped.push_back(pixsyn::detail::concat(name, ": expected shape ", shape, ", got ", it->second.shape()));
    }
  }
  for (const auto& [name, value] : given)
    if (!expected.count(name)) unexpected.push_back(pixsyn::detail::printable(name));
  if (!strict) missing.clear(), unexpected.clear();
  if (missing.empty() && unexpected.empty() && misshaped.empty()) return;

  std::string message = pixsyn::detail::concat(what, ": ", missing.size(), " missing, ", unexpected.size(),
                                               " unexpected and ", misshaped.size(), " wrongly shaped keys");
  auto list = [&message](const char* title, const std::vector<std::string>& items) {
    if (items.empty()) return;
    message += pixsyn::detail::concat("\n  ", title, ":");
    for (const auto& item : items) message += "\n    " + item;
  };
  list("missing", missing);
  list("unexpected", unexpected);
  list("wrongly shaped", misshaped);
  throw Error(message);
}

inline std::string join_name(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

}  // namespace detail

template <class T, class Device = Cpu>
class Module {
 public:
  using value_type = T;
  using device_type = Device;
  using Parameter = Var<T, Device>;
  using Buffer = Tensor<T, Device>;

  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module(Module&&) = delete;
  Module& operator=(Module&&) = delete;
  virtual ~Module() = default;

  // Full dotted names and pointers of all parameters: this module's own in registration order, then
  // each child's (recursively) in registration order, as torch.nn.Module.named_parameters does.
  std::vector<std::pair<std::string, Parameter*>> named_parameters() const {
    std::vector<std::pair<std::string, Parameter*>> out;
    collect_parameters("", out);
    return out;
  }
  std::vector<std::pair<std::string, Buffer*>> named_buffers() const {
    std::vector<std::pair<std::string, Buffer*>> out;
    collect_buffers("", out);
    return out;
  }
  // Every parameter and buffer name in the order of torch's state_dict(): a module's own parameters,
  // then its own buffers, then each child's names, recursively.
  std::vector<std::string> state_dict_keys() const {
    std::vector<std::string> out;
    collect_keys("", out);
    return out;
  }
  std::vector<Parameter*> parameters() const {
    std::vector<Parameter*> out;
    for (const auto& [name, p] : named_parameters()) out.push_back(p);
    return out;
  }
  std::int64_t parameter_count() const {
    std::int64_t n = 0;
    for (const auto& [name, p] : named_parameters()) n += p->numel();
    return n;
  }
  // Calls f(full_name, parameter) for every parameter, in named_parameters() order.
  template <class F>
  void visit_parameters(F&& f) const {
    for (const auto& [name, p] : named_parameters()) f(name, *p);
  }
  void zero_grad() {
    for (auto* p : parameters()) p->zero_grad();
  }

  // Copies of every parameter value and buffer, keyed by full name (a snapshot: later optimizer
  // steps, which update values in place, do not change it).
  StateDict<T, Device> state_dict() const {
    StateDict<T, Device> out;
    for (const auto& [name, p] : named_parameters()) out.emplace(name, p->value().clone());
    for (const auto& [name, b] : named_buffers()) out.emplace(name, b->clone());
    return out;
  }

  // Validates every key first (all problems in one error), then copies the values in.
  void load_state_dict(const StateDict<T, Device>& state, LoadOptions options = {}) {
    adapt_to(state);
    const auto params = named_parameters();
    const auto buffers = named_buffers();
    std::map<std::string, Shape> expected;
    for (const auto& [name, p] : params) expected.emplace(name, p->shape());
    for (const auto& [name, b] : buffers) expected.emplace(name, b->shape());
    detail::validate_state_dict("load_state_dict", expected, state, options.strict);
    for (const auto& [name, p] : params)
      if (auto it = state.find(name); it != state.end()) p->set_value(it->second.clone());
    for (const auto& [name, b] : buffers)
      if (auto it = state.find(name); it != state.end()) *b = it->second.clone();
  }

 protected:
  // Called by load_state_dict, on the module it is called on, before the keys are checked: a module
  // whose parameter shapes follow stored data (ALIS takes its coordinate channel counts from the
  // stored `basis` buffers) reshapes those members here. By default every shape stays.
  virtual void adapt_to(const StateDict<T, Device>& state) { (void)state; }

  // Registers a member; the name is one path component (no dots) unique within this module.
  Parameter& register_parameter(const std::string& name, Parameter& p) {
    check_new_name(name);
    pixsyn::detail::check(p.defined(), "register_parameter: parameter '", name, "' is undefined");
    pixsyn::detail::check(p.requires_grad() && p.is_leaf(), "register_parameter: '", name,
                          "' must be a leaf that requires a gradient (make it with Var::parameter)");
    parameters_.emplace_back(name, &p);
    return p;
  }
  Buffer& register_buffer(const std::string& name, Buffer& b) {
    check_new_name(name);
    buffers_.emplace_back(name, &b);
    return b;
  }
  template <class M>
  M& register_module(const std::string& name, M& m) {
    static_assert(std::is_base_of_v<Module, M>, "register_module: the child must be a Module of the same T and Device");
    check_new_name(name);
    pixsyn::detail::check(static_cast<const Module*>(&m) != this, "register_module: a module cannot contain itself");
    children_.emplace_back(name, &m);
    return m;
  }

 private:
  void check_new_name(const std::string& name) const {
    pixsyn::detail::check(!name.empty() && name.find('.') == std::string::npos, "Module: invalid member name '", name,
                          "' (it must be non-empty and contain no '.')");
    auto taken = [&name](const auto& list) {
      for (const auto& entry : list)
        if (entry.first == name) return true;
      return false;
    };
    pixsyn::detail::check(!taken(parameters_) && !taken(buffers_) && !taken(children_), "Module: the name '", name,
                          "' is already registered");
  }
  void collect_parameters(const std::string& prefix, std::vector<std::pair<std::string, Parameter*>>& out) const {
    for (const auto& [name, p] : parameters_) out.emplace_back(detail::join_name(prefix, name), p);
    for (const auto& [name, child] : children_) child->collect_parameters(detail::join_name(prefix, name), out);
  }
  void collect_buffers(const std::string& prefix, std::vector<std::pair<std::string, Buffer*>>& out) const {
    for (const auto& [name, b] : buffers_) out.emplace_back(detail::join_name(prefix, name), b);
    for (const auto& [name, child] : children_) child->collect_buffers(detail::join_name(prefix, name), out);
  }

  void collect_keys(const std::string& prefix, std::vector<std::string>& out) const {
    for (const auto& entry : parameters_) out.push_back(detail::join_name(prefix, entry.first));
    for (const auto& entry : buffers_) out.push_back(detail::join_name(prefix, entry.first));
    for (const auto& [name, child] : children_) child->collect_keys(detail::join_name(prefix, name), out);
  }

  std::vector<std::pair<std::string, Parameter*>> parameters_;
  std::vector<std::pair<std::string, Buffer*>> buffers_;
  std::vector<std::pair<std::string, Module*>> children_;
};

// An owning list of submodules, registered as "0", "1", ... like torch.nn.ModuleList.
template <class M>
class ModuleList : public Module<typename M::value_type, typename M::device_type> {
 public:
  ModuleList() = default;

  M& push_back(std::unique_ptr<M> m) {
    pixsyn::detail::check(m != nullptr, "ModuleList::push_back: null module");
    items_.push_back(std::move(m));
    return this->register_module(std::to_string(items_.size() - 1), *items_.back());
  }
  template <class... Args>
  M& emplace_back(Args&&... args) {
    return push_back(std::make_unique<M>(std::forward<Args>(args)...));
  }

  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  M& operator[](std::size_t i) const {
    pixsyn::detail::check(i < items_.size(), "ModuleList: index ", i, " out of range for ", items_.size(), " modules");
    return *items_[i];
  }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  std::vector<std::unique_ptr<M>> items_;
};

// A module whose children are named "0", "1", ... like an nn.Sequential, but may be of different kinds
// (CIPSres's "linears", the discriminator's "convs"); it does not own them.
template <class T, class Device = Cpu>
class NumberedChildren : public Module<T, Device> {
 public:
  template <class M>
  M& add(M& m) {
    return this->register_module(std::to_string(count_++), m);
  }

 private:
  int count_ = 0;
};

}  // namespace pixsyn::nn
