#include "model_options.hpp"

#include <CLI/CLI.hpp>

namespace pixsyn::cli {

void add_model_options(CLI::App& command, ModelOptions& options) {
  std::string names;
  for (const auto& n : model_names()) names += (names.empty() ? "" : ", ") + n;
  command.add_option("--model", options.name, "Generator: " + names)->required();
  command.add_option("--size", options.size, "Size (side of the embedding table): 16, 32, ..., 1024")->required();
  command.add_option("--init-seed", options.init_seed, "Seed of the random initialisation")->capture_default_str();
}

}  // namespace pixsyn::cli
