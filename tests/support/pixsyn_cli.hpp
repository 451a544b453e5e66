#pragma once
// Running the pixsyn program from a test (tests built where tools/CMakeLists.txt defines PIXSYN_CLI).
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "support/temp_files.hpp"

namespace pixsyn::test {

// Runs `pixsyn args` with its output in dir/log.txt and requires success, showing the output otherwise.
inline void pixsyn_ok(const TempDir& dir, const std::string& args) {
  const auto log = dir / "log.txt";
  const int status = std::system((std::string(PIXSYN_CLI) + " " + args + " >" + log.string() + " 2>&1").c_str());
  INFO("pixsyn ", args, "\n", read_bytes(log));
  REQUIRE(status == 0);
}

}  // namespace pixsyn::test
