// pixsyn convert: rewrites a weights file with its tensors in another floating dtype (fp16 halves a
// file: the demo models ship so), with the model named in its metadata. The input is validated
// against its model first; a value that the new dtype cannot hold is refused, naming the tensor.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>

#include "model_options.hpp"
#include "options.hpp"
#include "pixsyn/core/finite.hpp"
#include "pixsyn/io/output_set.hpp"
#include "pixsyn/io/safetensors.hpp"
#include "subcommands.hpp"

namespace pixsyn::cli {
namespace {

const std::map<std::string, io::DType> dtypes{
    {"fp32", io::DType::F32}, {"fp16", io::DType::F16}, {"bf16", io::DType::BF16}};

class Convert final : public Command {
 public:
  explicit Convert(CLI::App& app) {
    add_model_options(app, model_);
    add_path_option(app, "--weights", weights_, "The weights file (.safetensors) to convert")->required();
    add_path_option(app, "--out", out_, "The converted file (.safetensors); never the input")->required();
    add_choice_option(app, "--dtype", dtype_, {"fp32", "fp16", "bf16"}, "The dtype of every floating tensor");
  }

  void check() const override { model_.check_given(true); }

  int run() override {
    io::OutputSet outputs;
    outputs.add_input("--weights", weights_);
    const std::size_t out = outputs.add_output("--out", out_);
    model_.resolve(weights_);
    model_.make()->load(weights_);  // the input is what its model expects: keys, shapes, finite values

    auto file = io::read_safetensors(weights_);
    const io::DType dtype = dtypes.at(dtype_);
    for (auto& [name, raw] : file.tensors) {
      if (!io::is_floating(raw.dtype)) continue;
      auto converted = io::RawTensor::from(raw.to<double>(), dtype);
      const auto value = converted.to<double>();
      if (const auto bad = first_non_finite(value))
        pixsyn::detail::fail("--dtype ", dtype_, ": tensor '", pixsyn::detail::printable(name), "' holds ",
                             raw.to<double>().data()[*bad], " at flat index ", *bad, ", beyond ", dtype_, "'s range");
      raw = std::move(converted);
    }
    for (const auto& [key, value] : model_.metadata()) file.metadata[key] = value;
    outputs.write(out, [&](const std::filesystem::path& path) { io::write_safetensors(path, file); });
    outputs.commit();

    std::error_code error;
    const auto before = std::filesystem::file_size(weights_, error), after = std::filesystem::file_size(out_, error);
    char sizes[96];
    std::snprintf(sizes, sizeof sizes, "%.2f MB (from %.2f MB)", double(after) / 1e6, double(before) / 1e6);
    std::cout << "wrote " << out_ << ": " << model_.label() << ", " << file.tensors.size() << " tensors as " << dtype_
              << ", " << (error ? std::string("?") : std::string(sizes)) << "\n";
    return 0;
  }

 private:
  ModelOptions model_;
  std::string weights_, out_, dtype_ = "fp16";
};

}  // namespace

Subcommand convert_subcommand() {
  return {"convert", "Rewrite a weights file in another dtype (fp16, bf16, fp32), with its model in the metadata",
          [](CLI::App& app) -> std::unique_ptr<Command> { return std::make_unique<Convert>(app); }};
}

}  // namespace pixsyn::cli
