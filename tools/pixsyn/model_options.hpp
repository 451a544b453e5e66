#pragma once
// The options that choose a registered generator (--model, --size, --init-seed), shared by every
// subcommand that builds one.
#include <cstdint>
#include <memory>
#include <string>

#include "model.hpp"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace pixsyn::cli {

struct ModelOptions {
  std::string name;
  int size = 0;
  std::uint64_t init_seed = 0;

  std::unique_ptr<Model> make() const { return make_model(name, size, init_seed); }
  // The registered entry of `name` (what the family offers), known before a model is built.
  const ModelEntry& entry() const { return find_model(name); }
};

void add_model_options(CLI::App& command, ModelOptions& options);

// --refinement fp32|fp16: the arithmetic of the CREPS refinement blocks, fp32 (force_fp32=True) or the
// official default's fp16 (emulated); check_refinement_option refuses it for a model without them.
CLI::Option* add_refinement_option(CLI::App& command, std::string& target);
void check_refinement_option(const CLI::Option& option, const ModelEntry& entry);

}  // namespace pixsyn::cli
