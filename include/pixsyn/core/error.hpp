#pragma once
// pixsyn::Error: the one exception type the library throws, with a message that names the problem.
#include <sstream>
#include <stdexcept>
#include <string>

namespace pixsyn {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

template <class... Args>
[[noreturn]] void fail(const Args&... args) {
  throw Error(concat(args...));
}

template <class... Args>
void check(bool condition, const Args&... args) {
  if (!condition) fail(args...);
}

}  // namespace detail
}  // namespace pixsyn
