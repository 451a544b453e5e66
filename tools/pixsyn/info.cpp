// pixsyn info: a registered generator's configuration and parameter table.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "model_options.hpp"
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
  explicit Info(CLI::App& app) { add_model_options(app, model_); }

  int run() override {
    const auto model = model_.make();
    print_config(model_.name, *model);
    print_layer_table(model->parameters());
    std::cout << "parameters: " << model->parameter_count() << "\n";
    return 0;
  }

 private:
  ModelOptions model_;
};

}  // namespace

Subcommand info_subcommand() {
  return {"info", "Print a model's configuration and parameter table",
          [](CLI::App& app) -> std::unique_ptr<Command> { return std::make_unique<Info>(app); }};
}

}  // namespace pixsyn::cli
