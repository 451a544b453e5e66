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

const char* to_string(cips::Topology t) {
  switch (t) {
    case cips::Topology::skips:
      return "skips (ToRGB after every block, summed)";
    case cips::Topology::residual:
      return "residual (residual blocks, one final ToRGB)";
    case cips::Topology::base:
      return "base (plain stack, one final ToRGB)";
  }
  return "?";
}

const char* to_string(cips::Embedding e) {
  switch (e) {
    case cips::Embedding::fourier_and_learned:
      return "Fourier features + learned embedding";
    case cips::Embedding::fourier_only:
      return "Fourier features only";
    case cips::Embedding::learned_only:
      return "learned embedding only";
  }
  return "?";
}

const char* to_string(cips::Activation a) { return a == cips::Activation::sine ? "sine" : "leaky_relu"; }

void print_config(const std::string& name, const cips::Config& c) {
  std::ostringstream channels;
  for (int i = 0; i < c.blocks(); ++i) channels << (i ? " " : "") << c.channel(i);
  std::cout << "model:          " << name << "\n"
            << "size:           " << c.size << " (embedding table " << c.size << "x" << c.size << ")\n"
            << "hidden:         " << c.hidden << "\n"
            << "style_dim:      " << c.style_dim << "\n"
            << "mapping:        " << c.mapping_layers << " layers, lr_mul " << c.mapping_lr_mul << "\n"
            << "topology:       " << to_string(c.topology) << "\n"
            << "embedding:      " << to_string(c.embedding) << "\n"
            << "activation:     " << to_string(c.activation) << "\n"
            << "block channels: " << channels.str() << " (channel multiplier " << c.channel_multiplier << ")\n"
            << "noise maps:     " << c.styled_convs() << "\n\n";
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
    print_config(model_.name, model->config());
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
