#pragma once
// The pixsyn program around its subcommands: parsing a command line into a ready-to-run Command
// (callable on its own, without running anything: the fuzz harness and the tests use it), and the
// whole run with errors reported as one `error:` line and an exit status.
#include <memory>
#include <span>
#include <string>

#include "command.hpp"

namespace pixsyn::cli {

struct Invocation {
  std::unique_ptr<Command> command;  // the chosen subcommand with its options; null when help was asked for
  std::string help;                  // the help text to print when `command` is null
};

// Parses `args` (without the program name) against `table`; throws UsageError with a short message
// for a bad command line. Reads no file and starts no work.
Invocation parse_command_line(std::span<const Subcommand> table, std::span<const std::string> args);

// parse_command_line, then the command's run: the exit status of the program (0 success, 1 failure,
// 2 usage error), with every error reported on stderr as one `error: ...` line.
int run_program(std::span<const Subcommand> table, int argc, const char* const* argv);

}  // namespace pixsyn::cli
