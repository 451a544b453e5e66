// pixsyn info: a registered generator's configuration and parameter table; with --weights, the model a
// weights file holds (named by its metadata), the metadata, and whether the file loads.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "model_options.hpp"
#include "options.hpp"
#include "pixsyn/io/safetensors.hpp"
#include "subcommands.hpp"

namespace pixsyn::cli {
namespace {

// "model:" and the family's configuration, one aligned "field: value" line each.
void print_config(const std::string& name, const Model& model) {
  auto line = [](const std::string& field, const std::string& value) {
    std::cout << field << ":" << std::string(field.size() < 15 ? 15 - field.size() : 1, ' ') << value << "\n";
  };
  line("model", name);
  for (const auto& [field, value] : model.describe()) line(field, value);
  std::cout << "\n";
}

void print_layer_table(const std::vector<ParameterInfo>& parameters) {
  std::vector<std::string> shapes, counts;
  std::size_t name_width = 4, shape_width = 5, count_width = 10;
  for (const auto& p : parameters) {
    shapes.push_back(p.shape.to_string());
    counts.push_back(std::to_string(p.shape.numel()));
    name_width = std::max(name_width, p.name.size());
    shape_width = std::max(shape_width, shapes.back().size());
    count_width = std::max(count_width, counts.back().size());
  }
  auto row = [&](const std::string& name, const std::string& shape, const std::string& count) {
    std::cout << name << std::string(name_width - name.size() + 2, ' ') << shape
              << std::string(shape_width - shape.size() + 2 + count_width - count.size(), ' ') << count << "\n";
  };
  row("name", "shape", "parameters");
  for (std::size_t i = 0; i < parameters.size(); ++i) row(parameters[i].name, shapes[i], counts[i]);
}

class Info final : public Command {
 public:
  explicit Info(CLI::App& app) {
    add_model_options(app, model_);
    add_path_option(app, "--weights", weights_,
                    "A weights file (.safetensors): its model (from its metadata), its metadata, and a check that "
                    "it loads");
  }

  void check() const override { model_.check_given(!weights_.empty()); }

  int run() override {
    model_.resolve(weights_);
    const auto model = model_.make();
    print_config(model_.label(), *model);
    if (!weights_.empty()) {
      model->load(weights_);  // validated: every key, shape and value
      std::cout << "weights: " << weights_ << " (loads)\n";
      for (const auto& [key, value] : io::read_safetensors_metadata(weights_))
        std::cout << "  " << key << ": " << quote_value(value) << "\n";
      std::cout << "\n";
    }
    print_layer_table(model->parameters());
    std::cout << "parameters: " << model->parameter_count() << "\n";
    return 0;
  }

 private:
  ModelOptions model_;
  std::string weights_;
};

}  // namespace

Subcommand info_subcommand() {
  return {"info", "Print a model's configuration and parameter table",
          [](CLI::App& app) -> std::unique_ptr<Command> { return std::make_unique<Info>(app); }};
}

}  // namespace pixsyn::cli
