#include "program.hpp"

#include <signal.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <new>
#include <sstream>
#include <vector>

#include "pixsyn/io/temp_registry.hpp"
#include "usage_error.hpp"

namespace pixsyn::cli {
namespace {

// CLI11's own messages quote what was typed ("The following arguments were not expected: ..."): kept to
// one line of bounded length, whatever the arguments hold.
std::string one_short_line(const std::string& message) {
  constexpr std::size_t limit = 160;
  std::string out;
  for (const char c : message.substr(0, limit)) out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c;
  if (message.size() > limit) out += "...";
  return out;
}

}  // namespace

Invocation parse_command_line(std::span<const Subcommand> table, std::span<const std::string> args) {
  CLI::App app{"pixsyn: coordinate-based image generators (CIPS)", "pixsyn"};
  app.require_subcommand(1);
  std::vector<std::pair<CLI::App*, std::unique_ptr<Command>>> commands;
  for (const Subcommand& s : table) {
    CLI::App* sub = app.add_subcommand(std::string(s.name), std::string(s.description));
    commands.emplace_back(sub, s.add_options(*sub));
  }

  std::vector<const char*> argv{"pixsyn"};
  for (const auto& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0) throw UsageError(one_short_line(e.what()) + " (see pixsyn --help)");
    std::ostringstream out, err;  // --help
    app.exit(e, out, err);
    return {nullptr, out.str()};
  }
  for (auto& [sub, command] : commands) {
    if (!sub->parsed()) continue;
    command->check();
    return {std::move(command), {}};
  }
  throw UsageError("no subcommand given (see pixsyn --help)");  // require_subcommand(1) prevents this
}

int run_program(std::span<const Subcommand> table, int argc, const char* const* argv) {
  // Ctrl-C or a kill leaves no temporary file behind; a reader that goes away or a file size limit is
  // an error message (EPIPE, EFBIG) rather than a silent death.
  io::remove_temp_files_on_signals();
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGXFSZ, SIG_IGN);
  try {
    const Invocation invocation = parse_command_line(table, std::vector<std::string>(argv + 1, argv + argc));
    if (!invocation.command) {
      std::cout << invocation.help;
      return 0;
    }
    return invocation.command->run();
  } catch (const UsageError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::bad_alloc&) {
    std::cerr << "error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace pixsyn::cli
