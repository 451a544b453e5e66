#pragma once
// A subcommand of the pixsyn program (`info`, `render`, ...): its options, filled in by parsing the
// command line, and the work it does. Each subcommand lives in its own file and adds one row to the
// table in subcommands.cpp.
#include <memory>
#include <string_view>

namespace CLI {
class App;
}

namespace pixsyn::cli {

class Command {
 public:
  virtual ~Command() = default;
  // Checks that concern several options together and need no files; runs right after parsing, so a
  // bad combination is a usage error before any work (throws UsageError).
  virtual void check() const {}
  // Does the work; returns the exit status.
  virtual int run() = 0;
};

struct Subcommand {
  std::string_view name;
  std::string_view description;
  // Adds the subcommand's options to `app`, bound to the fields of the returned Command.
  std::unique_ptr<Command> (*add_options)(CLI::App& app);
};

}  // namespace pixsyn::cli
