// pixsyn plot: columns of a CSV file (pixsyn train's log.csv) against another as a PNG line plot
// (line_plot.hpp), e.g. the FID-IncV3-mixed5 that train --eval-every logs against the step. Rows whose
// cell of a column is empty (a step that was not scored) are left out of that column's curve.
#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "line_plot.hpp"
#include "options.hpp"
#include "pixsyn/io/atomic_file.hpp"
#include "pixsyn/io/image.hpp"
#include "pixsyn/io/output_set.hpp"
#include "subcommands.hpp"
#include "usage_error.hpp"

namespace pixsyn::cli {
namespace {

// The curves' colours, in the order of --column.
constexpr std::array<std::array<float, 3>, 4> colours{
    {{0.9f, 0.2f, 0.1f}, {0.1f, 0.3f, 0.9f}, {0.1f, 0.6f, 0.2f}, {0.6f, 0.2f, 0.7f}}};
constexpr const char* colour_names[] = {"red", "blue", "green", "purple"};

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  for (std::size_t comma; (comma = line.find(',', start)) != std::string::npos; start = comma + 1)
    fields.push_back(line.substr(start, comma - start));
  fields.push_back(line.substr(start));
  return fields;
}

class Plot final : public Command {
 public:
  explicit Plot(CLI::App& app) {
    app.add_option("csv", csv_, "CSV file with a header line (pixsyn train's log.csv)")->required();
    add_path_option(app, "--out", out_, "The plot (PNG)")->required();
    app.add_option("--column", columns_,
                   "Column to plot against --x, repeatable (up to 4: red, blue, green, purple; default "
                   "fid_incv3_mixed5, which train --eval-every logs)");
    app.add_option("--x", x_, "Column of the horizontal axis (values >= 0)")->capture_default_str();
    app.add_flag("--log-y", log_y_, "log10 scale for the values (a grey line at every power of ten)");
  }

  void check() const override {
    if (columns_.size() > colours.size())
      throw UsageError(pixsyn::detail::concat("--column is given ", columns_.size(), " times; at most ", colours.size(),
                                              " curves fit one plot"));
  }

  int run() override {
    io::OutputSet outputs;
    outputs.add_input("csv", csv_);
    const std::size_t png = outputs.add_output("--out", out_);
    const auto bytes = io::read_file(csv_, "plot");
    std::istringstream in(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    std::string line;
    pixsyn::detail::check(static_cast<bool>(std::getline(in, line)), "'", csv_, "' is empty; expected a header line");
    const auto header = split(line);
    const auto index = [&](const std::string& name) {
      for (std::size_t i = 0; i < header.size(); ++i)
        if (header[i] == name) return i;
      pixsyn::detail::fail("'", csv_, "' has no column '", quote_value(name), "'; its columns: ", line);
    };
    const std::vector<std::string> names = columns_.empty() ? std::vector<std::string>{"fid_incv3_mixed5"} : columns_;
    const std::size_t x_column = index(x_);
    std::vector<std::size_t> y_columns;
    for (const auto& name : names) y_columns.push_back(index(name));
    std::vector<PlotCurve> curves(names.size());
    for (std::size_t c = 0; c < curves.size(); ++c) curves[c] = {.rgb = colours[c], .dots = true};
    for (std::int64_t row = 2; std::getline(in, line); ++row) {
      if (line.empty()) continue;
      const auto fields = split(line);
      const auto number = [&](std::size_t column) {
        const std::string& text = column < fields.size() ? fields[column] : std::string();
        double v = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), v);
        pixsyn::detail::check(error == std::errc() && end == text.data() + text.size() && std::isfinite(v), "'", csv_,
                              "' line ", row, ": column '", header[column], "' holds '", quote_value(text),
                              "', not a finite number");
        return v;
      };
      for (std::size_t c = 0; c < curves.size(); ++c) {
        if (y_columns[c] >= fields.size() || fields[y_columns[c]].empty()) continue;  // not scored at this step
        const double x = number(x_column);
        pixsyn::detail::check(x >= 0, "'", csv_, "' line ", row, ": --x column '", x_, "' holds ", x,
                              "; the plot's x axis starts at 0");
        curves[c].x.push_back(x);
        curves[c].y.push_back(number(y_columns[c]));
      }
    }
    for (std::size_t c = 0; c < curves.size(); ++c) {
      pixsyn::detail::check(!curves[c].y.empty(), "'", csv_, "': column '", names[c], "' has no value to plot");
      for (double y : curves[c].y)
        pixsyn::detail::check(!log_y_ || y > 0, "--log-y: column '", names[c], "' holds ", y, ", not positive");
    }
    outputs.write(
        png, [&](const std::filesystem::path& path) { io::write_png(path, line_plot(curves, {.log_y = log_y_})); });
    outputs.commit();
    std::cout << "plot: " << out_ << " (against " << x_ << (log_y_ ? ", log10 scale" : "") << ")\n";
    for (std::size_t c = 0; c < curves.size(); ++c) {
      const auto& y = curves[c].y;
      const auto least = std::min_element(y.begin(), y.end()) - y.begin();
      char text[200];
      std::snprintf(text, sizeof text, "%s (%s): %zu points, first %.6g at %.6g, last %.6g at %.6g, least %.6g at %.6g",
                    names[c].c_str(), colour_names[c], y.size(), y.front(), curves[c].x.front(), y.back(),
                    curves[c].x.back(), y[static_cast<std::size_t>(least)],
                    curves[c].x[static_cast<std::size_t>(least)]);
      std::cout << text << "\n";
    }
    return 0;
  }

 private:
  std::string csv_, out_, x_ = "step";
  std::vector<std::string> columns_;
  bool log_y_ = false;
};

}  // namespace

Subcommand plot_subcommand() {
  return {"plot", "Columns of a CSV file (train's log.csv: the FID that --eval-every logs, losses) as a PNG line plot",
          [](CLI::App& app) -> std::unique_ptr<Command> { return std::make_unique<Plot>(app); }};
}

}  // namespace pixsyn::cli
