#pragma once
// UsageError: the pixsyn program's error for a bad command line, as opposed to a failure of the work.
#include "pixsyn/core/error.hpp"

namespace pixsyn::cli {

// A usage error, not a failure of the library: an unknown model name or size, an option out of range,
// or an option this model or this build does not support (the program exits with status 2).
class UsageError : public Error {
 public:
  using Error::Error;
};

}  // namespace pixsyn::cli
