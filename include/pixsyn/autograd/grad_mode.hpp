#pragma once
// Thread-local switch for graph recording, with RAII guards (like torch.no_grad / enable_grad).

namespace pixsyn::autograd {

namespace detail {
inline bool& grad_enabled_flag() {
  thread_local bool enabled = true;
  return enabled;
}
}  // namespace detail

inline bool grad_enabled() { return detail::grad_enabled_flag(); }

// While alive, operations on Var record nothing: results are constants.
class no_grad {
 public:
  no_grad() : previous_(detail::grad_enabled_flag()) { detail::grad_enabled_flag() = false; }
  ~no_grad() { detail::grad_enabled_flag() = previous_; }
  no_grad(const no_grad&) = delete;
  no_grad& operator=(const no_grad&) = delete;

 private:
  bool previous_;
};

// While alive, operations on Var record again (inside a no_grad region).
class enable_grad {
 public:
  enable_grad() : previous_(detail::grad_enabled_flag()) { detail::grad_enabled_flag() = true; }
  ~enable_grad() { detail::grad_enabled_flag() = previous_; }
  enable_grad(const enable_grad&) = delete;
  enable_grad& operator=(const enable_grad&) = delete;

 private:
  bool previous_;
};

}  // namespace pixsyn::autograd
