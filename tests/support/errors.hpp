#pragma once
// Checking error messages: what a call throws, and whether a message mentions something.
#include <string>

#include "pixsyn/core/error.hpp"

namespace pixsyn::test {

// The message of the pixsyn::Error that f throws ("" when it throws none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const pixsyn::Error& e) {
    return e.what();
  }
  return "";
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace pixsyn::test
