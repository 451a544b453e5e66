#pragma once
// Running the pixsyn program from the tests: its exit status and output, and a scratch folder.
#include <doctest/doctest.h>
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
