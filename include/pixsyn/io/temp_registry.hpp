#pragma once
// Temporary files that a signal must not leave behind. Every temporary file that pixsyn writes (see
// atomic_file.hpp) is registered here while it exists; a program that calls
// remove_temp_files_on_signals() gets them removed when SIGINT, SIGTERM or SIGHUP ends it. The handler
// only calls async-signal-safe functions (unlink, raise), so the registry is a fixed table of paths
// with atomic slot states rather than a container that could be mid-update when the signal arrives.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <climits>
#include <cstddef>
#include <cstring>
#include <string_view>

namespace pixsyn::io {

namespace detail {

class TempRegistry {
 public:
  static constexpr std::size_t capacity = 64;

  // A slot holding `path`, or -1 when the table is full or the path too long; such a file is still
  // removed on errors, only not on signals.
  int add(std::string_view path) {
    if (path.size() >= PATH_MAX) return -1;
    for (std::size_t i = 0; i < capacity; ++i) {
      int expected = unused;
      if (!slots_[i].state.compare_exchange_strong(expected, filling)) continue;
      std::memcpy(slots_[i].path, path.data(), path.size());
      slots_[i].path[path.size()] = '\0';
      slots_[i].state.store(live, std::memory_order_release);
      return static_cast<int>(i);
    }
    return -1;
  }
  void remove(int slot) {
    if (slot >= 0) slots_[static_cast<std::size_t>(slot)].state.store(unused, std::memory_order_release);
  }
  std::size_t size() const {
    std::size_t n = 0;
    for (const auto& s : slots_) n += s.state.load(std::memory_order_acquire) == live;
    return n;
  }
  // Async-signal-safe: unlinks every live path.
  void unlink_all() {
    for (auto& s : slots_)
      if (s.state.load(std::memory_order_acquire) == live) ::unlink(s.path);
  }

 private:
  static constexpr int unused = 0, filling = 1, live = 2;
  struct Slot {
    std::atomic<int> state{unused};
    char path[PATH_MAX];
  };
  static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs lock-free atomics");
  std::array<Slot, capacity> slots_{};
};

// Constant-initialised, so that a signal handler never meets it half-constructed.
constinit inline TempRegistry temp_registry_instance;
inline TempRegistry& temp_registry() { return temp_registry_instance; }

// Holds SIGINT, SIGTERM and SIGHUP back in this thread while a temporary file is created and
// registered, so that a signal never finds it on disk and not yet in the registry.
class BlockedSignals {
 public:
  BlockedSignals() {
    sigset_t set;
    sigemptyset(&set);
    for (const int signal : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, signal);
    ::pthread_sigmask(SIG_BLOCK, &set, &previous_);
  }
  BlockedSignals(const BlockedSignals&) = delete;
  BlockedSignals& operator=(const BlockedSignals&) = delete;
  ~BlockedSignals() { ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

 private:
  sigset_t previous_;
};

// The actions the handler replaced, restored before the signal is raised again. Indexed by signal number.
constinit inline struct sigaction previous_actions[NSIG] {};

extern "C" inline void remove_temp_files_and_reraise(int signal) {
  temp_registry().unlink_all();
  // Hand the signal on: to the handler that was there before, or the default action, which ends the
  // process as the signal would have.
  ::sigaction(signal, &previous_actions[signal], nullptr);
  ::raise(signal);
}

}  // namespace detail

// The number of temporary files registered now (for tests).
inline std::size_t registered_temp_files() { return detail::temp_registry().size(); }

// Installs a handler for SIGINT, SIGTERM and SIGHUP that removes the registered temporary files and
// then hands the signal on to the handler that was there before (by default: ends the process by the
// same signal). Ignored signals stay ignored. Call it once, early; a library never installs signal
// handlers on its own, so this is for programs.
inline void remove_temp_files_on_signals() {
  for (const int signal : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction& previous = detail::previous_actions[signal];
    if (::sigaction(signal, nullptr, &previous) != 0 || previous.sa_handler == SIG_IGN ||
        previous.sa_handler == detail::remove_temp_files_and_reraise)
      continue;
    struct sigaction action {};
    action.sa_handler = detail::remove_temp_files_and_reraise;
    sigemptyset(&action.sa_mask);
    ::sigaction(signal, &action, nullptr);
  }
}

}  // namespace pixsyn::io
