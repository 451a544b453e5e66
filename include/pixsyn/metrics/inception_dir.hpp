#pragma once
// Where the InceptionV3 weights of metrics/inception.hpp live (tools/data/inception.sh writes them there):
// $PIXSYN_INCEPTION_DIR, else ~/.cache/pixsyn/inception. A header of its own, so that code that only looks
// for the weights does not parse the network.
#include <cstdlib>
#include <filesystem>

namespace pixsyn::metrics {

inline std::filesystem::path default_inception_dir() {
  if (const char* dir = std::getenv("PIXSYN_INCEPTION_DIR"); dir && *dir) return dir;
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home && *home ? home : ".") / ".cache" / "pixsyn" / "inception";
}

}  // namespace pixsyn::metrics
