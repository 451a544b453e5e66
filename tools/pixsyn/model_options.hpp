#pragma once
// The options that choose a registered generator (--model, --size, --init-seed), shared by every
// subcommand that builds one.
#include <cstdint>
#include <memory>
#include <string>

#include "model.hpp"

namespace CLI {
class App;
}

namespace pixsyn::cli {

struct ModelOptions {
  std::string name;
  int size = 0;
  std::uint64_t init_seed = 0;

  std::unique_ptr<Model> make() const { return make_model(name, size, init_seed); }
};

void add_model_options(CLI::App& command, ModelOptions& options);

}  // namespace pixsyn::cli
