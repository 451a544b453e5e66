#pragma once
// Whether the InceptionV3 weights (tools/data/inception.sh) are there for the tests that need them: a
// skip with a message when they are not, or a failure where they must be (PIXSYN_REQUIRE_INCEPTION=1,
// as CI sets it through CMake's PIXSYN_REQUIRE_INCEPTION).
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "pixsyn/metrics/inception_dir.hpp"

namespace pixsyn::test {

inline bool inception_weights_available() {
  const auto dir = metrics::default_inception_dir();
  if (std::filesystem::exists(dir / "inception_v3.safetensors")) return true;
  const char* required = std::getenv("PIXSYN_REQUIRE_INCEPTION");
  const std::string why =
      "the InceptionV3 weights are not in " + dir.string() + " (run tools/data/inception.sh " + dir.string() + ")";
  if (required && std::string(required) == "1") FAIL(why);
  MESSAGE("skipped: ", why);
  return false;
}

}  // namespace pixsyn::test
