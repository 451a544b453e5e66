#pragma once
// pixsyn::Error: the one exception type the library throws, with a message that names the problem.
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

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

// Text from outside (a key in a file, a decoder's reason) as a message may show it: control bytes
// escaped as \xNN and at most max_chars bytes kept, so that a hostile file can neither flood the
// terminal nor send it escape sequences.
inline std::string printable(std::string_view text, std::size_t max_chars = 80) {
  std::string out;
  for (const char c : text.substr(0, max_chars)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte != 0x7f) {
      out += c;
    } else {
      const char* hex = "0123456789abcdef";
      out += {'\\', 'x', hex[byte >> 4], hex[byte & 15]};
    }
  }
  if (text.size() > max_chars) out += "...";
  return out;
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
