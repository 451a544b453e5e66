#include "model_options.hpp"

#include <CLI/CLI.hpp>

#include "options.hpp"

namespace pixsyn::cli {

void add_model_options(CLI::App& command, ModelOptions& options) {
  add_choice_option(command, "--model", options.name, model_names(), "Generator")->required();
  add_integer_choice_option(command, "--size", options.size, model_sizes, "Size (side of the embedding table)")
      ->required();
  add_seed_option(command, "--init-seed", options.init_seed, "Seed of the random initialisation");
}

}  // namespace pixsyn::cli
