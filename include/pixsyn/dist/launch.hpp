#pragma once
// dist::launch: one machine's ranks as child processes, the way torchrun starts them: the same command N
// times, each with RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT set (and CUDA_VISIBLE_DEVICES
// narrowed to its GPU). SIGINT, SIGTERM and SIGHUP sent to the launcher go to every worker. When a worker
// fails (a non-zero exit or a signal), the others get SIGTERM, then SIGKILL after a grace period, and the
// launcher reports which rank failed and how: a dead rank never leaves the others hanging.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <ostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "pixsyn/core/error.hpp"

extern char** environ;

namespace pixsyn::dist {

struct LaunchOptions {
  int processes = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  // Give worker r only GPU r (the r-th entry of the launcher's own CUDA_VISIBLE_DEVICES, when set).
  bool one_gpu_each = true;
  std::chrono::milliseconds grace = std::chrono::seconds(10);  // from SIGTERM to SIGKILL
};

namespace detail {

inline volatile sig_atomic_t forwarded_signal = 0;
inline void remember_signal(int sig) { forwarded_signal = sig; }

// The launcher's CUDA_VISIBLE_DEVICES entries ("0,1,..."), or none.
inline std::vector<std::string> visible_devices() {
  std::vector<std::string> out;
  const char* text = std::getenv("CUDA_VISIBLE_DEVICES");
  if (text == nullptr) return out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

inline std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + ::strsignal(WTERMSIG(status));
  return "stopped";
}

}  // namespace detail

// Runs argv (argv[0]: the program's path) as options.processes workers and waits for all of them.
// Returns 0 when every worker exited with 0; otherwise the first failure's exit status (or 128 + its
// signal), after the other workers were stopped; `log` gets one line naming the failed rank.
inline int launch(const std::vector<std::string>& argv, const LaunchOptions& options, std::ostream& log) {
  pixsyn::detail::check(!argv.empty(), "dist::launch: no command");
  pixsyn::detail::check(options.processes >= 1 && options.processes <= 1024, "dist::launch: ", options.processes,
                        " processes; expected 1 .. 1024");
  const auto devices = detail::visible_devices();
  pixsyn::detail::check(
      !options.one_gpu_each || devices.empty() || static_cast<int>(devices.size()) >= options.processes,
      "dist::launch: ", options.processes, " processes, one GPU each, but CUDA_VISIBLE_DEVICES names ", devices.size());
  // The environment of worker r: the launcher's, with the rank's variables replaced.
  const auto environment = [&](int r) {
    std::map<std::string, std::string> set{{"RANK", std::to_string(r)},
                                           {"LOCAL_RANK", std::to_string(r)},
                                           {"WORLD_SIZE", std::to_string(options.processes)},
                                           {"MASTER_ADDR", options.master_addr},
                                           {"MASTER_PORT", std::to_string(options.master_port)}};
    if (options.one_gpu_each)
      set["CUDA_VISIBLE_DEVICES"] = devices.empty() ? std::to_string(r) : devices[static_cast<std::size_t>(r)];
    std::vector<std::string> out;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string entry(*e);
      if (set.count(entry.substr(0, entry.find('='))) == 0) out.push_back(entry);
    }
    for (const auto& [key, value] : set) out.push_back(key + "=" + value);
    return out;
  };

  struct sigaction forward {};
  forward.sa_handler = detail::remember_signal;
  sigemptyset(&forward.sa_mask);
  struct sigaction saved[3];
  const int forwarded[3] = {SIGINT, SIGTERM, SIGHUP};
  detail::forwarded_signal = 0;
  for (int i = 0; i < 3; ++i) ::sigaction(forwarded[i], &forward, &saved[i]);

  std::vector<pid_t> pids;
  std::string spawn_error;
  for (int r = 0; r < options.processes && spawn_error.empty(); ++r) {
    const auto env = environment(r);
    std::vector<char*> args, envp;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    pid_t pid = 0;
    const int rc = ::posix_spawn(&pid, argv[0].c_str(), nullptr, nullptr, args.data(), envp.data());
    if (rc != 0)
      spawn_error = "cannot start rank " + std::to_string(r) + " ('" + argv[0] + "'): " + std::strerror(rc);
    else
      pids.push_back(pid);
  }

  std::vector<bool> running(pids.size(), true);
  std::size_t alive = pids.size();
  int result = 0;
  bool stopping = !spawn_error.empty();
  auto stop_deadline = std::chrono::steady_clock::now() + options.grace;
  const auto stop_all = [&](int sig) {
    for (std::size_t r = 0; r < pids.size(); ++r)
      if (running[r]) ::kill(pids[r], sig);
  };
  if (stopping) {
    log << "error: " << spawn_error << "; stopping the other ranks\n";
    result = 1;
    stop_all(SIGTERM);
  }
  bool killed = false;
  while (alive > 0) {
    if (const int sig = detail::forwarded_signal; sig != 0) {
      detail::forwarded_signal = 0;
      stop_all(sig);
      if (!stopping) {
        stopping = true;
        stop_deadline = std::chrono::steady_clock::now() + options.grace;
        result = 128 + sig;
      }
    }
    // Only this launch's children are waited for (the process may have others, e.g. popen's).
    bool reaped = false;
    for (std::size_t r = 0; r < pids.size(); ++r) {
      int status = 0;
      if (!running[r]) continue;
      const pid_t got = ::waitpid(pids[r], &status, WNOHANG);
      if (got == -1 && errno == ECHILD) {  // reaped by someone else (SIGCHLD ignored): the status is lost
        running[r] = false;
        --alive;
        log << "warning: the exit status of rank " << r << " is unknown (SIGCHLD is ignored)\n";
        continue;
      }
      if (got != pids[r]) continue;
      reaped = true;
      running[r] = false;
      --alive;
      const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!ok && !stopping) {
        log << "error: rank " << r << " of " << pids.size() << " " << detail::describe(status)
            << "; stopping the other ranks\n";
        result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        stopping = true;
        stop_deadline = std::chrono::steady_clock::now() + options.grace;
        stop_all(SIGTERM);
      }
    }
    if (reaped) continue;
    if (stopping && !killed && std::chrono::steady_clock::now() > stop_deadline) {
      log << "error: " << alive << " rank(s) still running " << options.grace.count()
          << " ms after SIGTERM; killing them\n";
      stop_all(SIGKILL);
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (int i = 0; i < 3; ++i) ::sigaction(forwarded[i], &saved[i], nullptr);
  return result;
}

}  // namespace pixsyn::dist
