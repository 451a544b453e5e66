// pixsyn train --eval-every (issue 11): G_ema's FID-IncV3-mixed5 and KID in log.csv and on the progress line,
// empty where the step is not scored, equal to what pixsyn eval prints for the weights; a missing network
// is an error before the first step.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <pixsyn/core/philox.hpp>
#include <pixsyn/io/image.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "run_pixsyn.hpp"
#include "support/inception.hpp"

using namespace pixsyn;
using namespace pixsyn::test;

namespace {

std::vector<std::string> fields(const std::string& row) {
  std::vector<std::string> out;
  std::stringstream in(row);
  for (std::string field; std::getline(in, field, ',');) out.push_back(field);
  if (!row.empty() && row.back() == ',') out.emplace_back();
  return out;
}

}  // namespace

TEST_CASE("pixsyn train --eval-every: FID and KID of G_ema in log.csv, as pixsyn eval scores its weights") {
  if (!inception_weights_available()) return;
  CliTempDir dir;
  std::filesystem::create_directories(dir / "data");
  for (std::uint64_t i = 0; i < 2; ++i)
    io::write_png(dir / ("data/" + std::to_string(i) + ".png"), Tensor<float>::rand({3, 32, 32}, Philox{i}));
  const std::string cache = "PIXSYN_FEATURE_CACHE=" + dir / "cache";
  const std::string train =
      "train --size 32 --max-channels 16 --batch 2 --steps 3 --eval-n 2 --data " + dir / "data" + " --out ";
  const auto run = pixsyn_ok(train + dir / "run" + " --eval-every 2", cache);
  INFO(run.output);
  std::ifstream log(dir / "run/log.csv");
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(log, line);) rows.push_back(fields(line));
  REQUIRE(rows.size() == 4);
  CHECK(rows[0] == std::vector<std::string>{"step", "loss_g", "loss_d", "r1", "images_per_s", "fid_incv3_mixed5",
                                            "kid_incv3_mixed5"});
  // Step 1 is not scored; step 2 is (every 2), and step 3, the last.
  REQUIRE(rows[1].size() == 7);
  CHECK(rows[1][5].empty());
  CHECK(rows[1][6].empty());
  for (int r : {2, 3}) {
    CAPTURE(r);
    REQUIRE(rows[r].size() == 7);
    CHECK(std::stod(rows[r][5]) > 0);
    CHECK(std::isfinite(std::stod(rows[r][6])));
  }
  CHECK(run.output.find("eval: 2 images from '" + dir / "data" + "'") != std::string::npos);
  CHECK(run.output.find("train: 3/3 steps (100%), loss_g ") != std::string::npos);
  CHECK(run.output.find(", fid " + rows[3][5] + " (step 3, scored in ") != std::string::npos);
  // The last score is pixsyn eval's for the run's G_ema (same latents, same data features).
  const auto eval =
      pixsyn_ok("eval -q --n 2 --weights " + dir / "run/g_ema.safetensors" + " --data " + dir / "data", cache);
  CHECK(eval.lines.back() == "fid: " + rows[3][5]);
  CHECK(eval.lines[eval.lines.size() - 2].rfind("kid: " + rows[3][6] + " ", 0) == 0);

  // Without the network: an error before the first step, nothing written.
  check_one_error_line(pixsyn_cli(train + dir / "nowhere-run" + " --eval-every 2 -q",
                                  cache + " PIXSYN_INCEPTION_DIR=" + dir / "nowhere"),
                       "tools/data/inception.sh");
  CHECK(!std::filesystem::exists(dir / "nowhere-run/log.csv"));
}
