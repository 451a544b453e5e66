// libFuzzer harness: any bytes as a pixsyn command line (arguments separated by NUL bytes), parsed as
// the program parses it, without running anything. A pixsyn::Error (the usage errors) is an answer;
// anything else (a crash, a sanitizer report, another exception, a hang) is a finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pixsyn/core/error.hpp"
#include "program.hpp"
#include "subcommands.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> args(1);
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0)
      args.emplace_back();
    else
      args.back() += static_cast<char>(data[i]);
  }
  try {
    (void)pixsyn::cli::parse_command_line(pixsyn::cli::subcommands(), args);
  } catch (const pixsyn::Error&) {
  }
  return 0;
}
