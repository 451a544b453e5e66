#pragma once
// The options that choose a registered generator (--model, --size, --init-seed), shared by every
// subcommand that builds one.
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "model.hpp"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace pixsyn::cli {

// The metadata that names the model in a weights file written by pixsyn, which resolve() reads:
// {"format": "pixsyn", "model": name, "size": size}, and "max_channels" for a narrower variant (> 0).
std::map<std::string, std::string> weights_metadata(const std::string& name, int size, int max_channels);

struct ModelOptions {
  std::string name;      // empty until given or read from --weights' metadata
  int size = 0;          // 0 likewise
  int max_channels = 0;  // 0: the registered widths; > 0: a narrower variant (from --weights' metadata)
  std::uint64_t init_seed = 0;

  // Whether the model is known: given with --model, or read from the weights' metadata by resolve().
  bool known() const { return !name.empty(); }
  // Right after parsing: --model and --size are required unless a weights file can name them.
  void check_given(bool have_weights) const;
  // Reads the model the weights file says it holds (its safetensors metadata "model", "size" and
  // "max_channels", as pixsyn writes them) and fills in what was not given; an explicit --model or
  // --size that contradicts it is a UsageError. A file without a "model" entry needs both flags.
  void resolve(const std::string& weights);

  std::unique_ptr<Model> make() const { return make_model(name, size, max_channels, init_seed); }
  // The registered entry of `name` (what the family offers), known before a model is built.
  const ModelEntry& entry() const { return find_model(name); }
  // "cips-skips-32", or "cips-skips-32 (max_channels 16)" for a narrower variant.
  std::string label() const;
  // The metadata that names this model in a weights file (weights_metadata).
  std::map<std::string, std::string> metadata() const { return weights_metadata(name, size, max_channels); }
};

void add_model_options(CLI::App& command, ModelOptions& options);

// --refinement fp32|fp16: the arithmetic of the CREPS refinement blocks, fp32 (force_fp32=True) or the
// official default's fp16 (emulated); check_refinement_option refuses it (given) for a model without them.
CLI::Option* add_refinement_option(CLI::App& command, std::string& target);
void check_refinement_option(bool given, const ModelEntry& entry);

// --precision fp32|bf16 of a GPU render (`what` says what bf16 means to the command). bf16 is refused off the GPU
// (`device` "cpu"), right after parsing, and for a model whose GPU path renders in fp32 only.
CLI::Option* add_precision_option(CLI::App& command, std::string& target, const std::string& what);
void check_precision_option(const std::string& precision, const std::string& device);
void check_precision_option(const std::string& precision, const ModelEntry& entry);

}  // namespace pixsyn::cli
