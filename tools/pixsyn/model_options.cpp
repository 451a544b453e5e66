#include "model_options.hpp"

#include <CLI/CLI.hpp>

#include "options.hpp"

namespace pixsyn::cli {

void add_model_options(CLI::App& command, ModelOptions& options) {
  add_checked_option(
      command, "--model", options.name, [](const std::string& name) { find_model(quote_value(name)); },
      "Generator: " + model_name_list(), "NAME")
      ->required();
  add_integer_choice_option(command, "--size", options.size, model_sizes,
                            "Size: the training resolution (CIPS: the embedding table's side)")
      ->required();
  add_seed_option(command, "--init-seed", options.init_seed, "Seed of the random initialisation");
}

CLI::Option* add_refinement_option(CLI::App& command, std::string& target) {
  return add_choice_option(command, "--refinement", target, {"fp32", "fp16"},
                           "CREPS: the refinement blocks in fp32 (force_fp32=True) or as the official default runs "
                           "them, in fp16 (emulated)");
}

void check_refinement_option(const CLI::Option& option, const ModelEntry& entry) {
  if (option.count() && !entry.capabilities.fp16_refinement)
    throw UsageError(
        pixsyn::detail::concat("--refinement is for CREPS models; ", entry.name, " has no fp16 refinement blocks"));
}

}  // namespace pixsyn::cli
