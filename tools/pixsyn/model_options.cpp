#include "model_options.hpp"

#include <CLI/CLI.hpp>
#include <charconv>
#include <string>
#include <system_error>

#include "options.hpp"
#include "pixsyn/io/safetensors.hpp"

namespace pixsyn::cli {
namespace {

// A positive integer written by pixsyn into the metadata of `weights`; throws naming the entry otherwise.
int metadata_integer(const std::string& weights, const std::string& key, const std::string& text) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  pixsyn::detail::check(error == std::errc() && end == text.data() + text.size() && value > 0, "--weights '", weights,
                        "': metadata \"", key, "\" is '", quote_value(text), "', not a positive integer");
  return value;
}

}  // namespace

void ModelOptions::check_given(bool have_weights) const {
  const char* hint = " (or --weights of a file written by pixsyn, whose metadata names the model)";
  if (name.empty() && !have_weights) throw UsageError(std::string("--model is required") + hint);
  if (size == 0 && !have_weights) throw UsageError(std::string("--size is required") + hint);
}

void ModelOptions::resolve(const std::string& weights) {
  if (weights.empty()) return;
  const auto metadata = io::read_safetensors_metadata(weights);
  const auto entry = [&](const char* key) {
    const auto it = metadata.find(key);
    return it == metadata.end() ? std::string() : it->second;
  };
  const std::string model = entry("model");
  if (model.empty()) {
    if (name.empty() || size == 0)
      throw UsageError(pixsyn::detail::concat("--weights '", weights,
                                              "' does not say which model it holds (no \"model\" in its metadata: "
                                              "not written by pixsyn); give --model and --size"));
    return;
  }
  try {
    find_model(model);
  } catch (const UsageError&) {
    pixsyn::detail::fail("--weights '", weights, "' holds the model '", quote_value(model),
                         "' (its metadata), which this pixsyn does not have");
  }
  const int stored_size = metadata_integer(weights, "size", entry("size"));
  const std::string channels = entry("max_channels");
  const int stored_channels = channels.empty() ? 0 : metadata_integer(weights, "max_channels", channels);
  const std::string stored = pixsyn::detail::concat(model, "-", stored_size);
  if (!name.empty() && name != model)
    throw UsageError(pixsyn::detail::concat("--model ", name, " contradicts --weights '", weights, "', which holds ",
                                            stored, " (its metadata); leave --model out"));
  if (size != 0 && size != stored_size)
    throw UsageError(pixsyn::detail::concat("--size ", size, " contradicts --weights '", weights, "', which holds ",
                                            stored, " (its metadata); leave --size out"));
  name = model;
  size = stored_size;
  max_channels = stored_channels;
}

std::map<std::string, std::string> weights_metadata(const std::string& name, int size, int max_channels) {
  std::map<std::string, std::string> out{{"format", "pixsyn"}, {"model", name}, {"size", std::to_string(size)}};
  if (max_channels > 0) out["max_channels"] = std::to_string(max_channels);
  return out;
}

std::string ModelOptions::label() const {
  std::string out = pixsyn::detail::concat(name, "-", size);
  if (max_channels > 0) out += pixsyn::detail::concat(" (max_channels ", max_channels, ")");
  return out;
}

void add_model_options(CLI::App& command, ModelOptions& options) {
  add_checked_option(
      command, "--model", options.name, [](const std::string& name) { find_model(quote_value(name)); },
      "Generator: " + model_name_list() + " (default: what --weights' metadata says)", "NAME");
  add_integer_choice_option(command, "--size", options.size, model_sizes,
                            "Size: the training resolution (CIPS: the embedding table's side; default: what "
                            "--weights' metadata says)");
  add_seed_option(command, "--init-seed", options.init_seed, "Seed of the random initialisation");
}

CLI::Option* add_refinement_option(CLI::App& command, std::string& target) {
  return add_choice_option(command, "--refinement", target, {"fp32", "fp16"},
                           "CREPS: the refinement blocks in fp32 (force_fp32=True) or as the official default runs "
                           "them, in fp16 (emulated)");
}

void check_refinement_option(bool given, const ModelEntry& entry) {
  if (given && !entry.capabilities.fp16_refinement)
    throw UsageError(
        pixsyn::detail::concat("--refinement is for CREPS models; ", entry.name, " has no fp16 refinement blocks"));
}

CLI::Option* add_precision_option(CLI::App& command, std::string& target, const std::string& what) {
  return add_choice_option(command, "--precision", target, {"fp32", "bf16"}, "fp32, or bf16: " + what);
}

void check_precision_option(const std::string& precision, const std::string& device) {
  if (precision == "bf16" && device != "cuda")
    throw UsageError("--precision bf16 needs --device cuda (the CPU renders in fp32)");
}

void check_precision_option(const std::string& precision, const ModelEntry& entry) {
  if (precision == "bf16" && !entry.capabilities.cuda_bf16)
    throw UsageError(pixsyn::detail::concat("--precision bf16: ", entry.name,
                                            " renders in fp32 on the GPU (its bf16 path is not built yet)"));
}

}  // namespace pixsyn::cli
