// pixsyn fid DIR_A DIR_B: FID-IncV3-mixed5 and KID between two folders of images (docs/evaluation.md).
#include <CLI/CLI.hpp>
#include <string>

#include "features.hpp"
#include "subcommands.hpp"

namespace pixsyn::cli {
namespace {

class Fid final : public Command {
 public:
  explicit Fid(CLI::App& app) {
    app.add_option("dir_a", dir_a_, "First folder of PNG/JPEG images (recursive)")->required();
    app.add_option("dir_b", dir_b_, "Second folder of PNG/JPEG images (recursive)")->required();
    add_feature_options(app, features_);
  }

  void check() const override { check_feature_options(features_); }

  int run() override {
    FeatureExtractor extractor(features_);
    const auto a = extractor.folder(dir_a_);
    const auto b = extractor.folder(dir_b_);
    report_distances(a, b, features_);
    return 0;
  }

 private:
  std::string dir_a_, dir_b_;
  FeatureOptions features_;
};

}  // namespace

Subcommand fid_subcommand() {
  return {"fid",
          "FID-IncV3-mixed5 and KID between two folders of images (comparable only with each other, not with "
          "published FIDs)",
          [](CLI::App& app) -> std::unique_ptr<Command> { return std::make_unique<Fid>(app); }};
}

}  // namespace pixsyn::cli
