#pragma once
// Running the pixsyn program from the tests: its exit status and output, and a scratch folder.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

namespace pixsyn::test {

struct Run {
  int code;
  std::string output;  // stdout and stderr together
  std::vector<std::string> lines;
};

// Runs `pixsyn args`, with `environment` (VAR=value ...) set for the program.
inline Run pixsyn_cli(const std::string& args, const std::string& environment = "") {
  const std::string command = environment + " " + PIXSYN_CLI + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
  const int status = pclose(pipe);
  Run run{WIFEXITED(status) ? WEXITSTATUS(status) : -1, output, {}};
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) run.lines.push_back(line);
  return run;
}

// Starts `pixsyn args`, reads its stderr until `marker` shows that the work is under way, ends it with
// SIGTERM and returns its wait status (for the tests of interrupted writes).
inline int terminate_once_started(const std::vector<std::string>& args, const std::string& marker) {
  std::vector<char*> argv{const_cast<char*>("pixsyn")};
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  int err[2];
  REQUIRE(::pipe(err) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::dup2(err[1], STDERR_FILENO);
    ::close(err[0]);
    ::close(err[1]);
    ::signal(SIGTERM, SIG_DFL);  // the test runner's handler is not the program's
    ::execv(PIXSYN_CLI, argv.data());
    ::_exit(127);
  }
  ::close(err[1]);
  std::string seen;
  char buffer[256];
  for (ssize_t n; seen.find(marker) == std::string::npos && (n = ::read(err[0], buffer, sizeof buffer)) > 0;)
    seen.append(buffer, static_cast<std::size_t>(n));
  REQUIRE(seen.find(marker) != std::string::npos);
  REQUIRE(::kill(child, SIGTERM) == 0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  ::close(err[0]);
  return status;
}

// Runs `pixsyn args` and requires success, showing the program's output otherwise.
inline Run pixsyn_ok(const std::string& args, const std::string& environment = "") {
  Run run = pixsyn_cli(args, environment);
  INFO("pixsyn ", args, "\n", run.output);
  REQUIRE(run.code == 0);
  return run;
}

// A fresh directory for one test case's files, removed afterwards.
struct CliTempDir {
  std::filesystem::path path;
  CliTempDir() {
    static int count = 0;  // several per process; the pid keeps parallel test processes apart
    path = std::filesystem::temp_directory_path() /
           ("pixsyn_test_cli_" + std::to_string(getpid()) + "_" + std::to_string(count++));
    std::filesystem::create_directories(path);
  }
  ~CliTempDir() { std::filesystem::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

// The program failed with one line "error: ...", which mentions `needle`.
inline void check_one_error_line(const Run& run, const std::string& needle) {
  INFO(run.output);
  CHECK(run.code != 0);
  REQUIRE(run.lines.size() == 1);
  CHECK(run.lines[0].rfind("error: ", 0) == 0);
  CHECK(run.lines[0].find(needle) != std::string::npos);
}

}  // namespace pixsyn::test
