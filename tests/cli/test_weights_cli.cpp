// Weights files that name their model: pixsyn render and info read the model from the safetensors
// metadata (no --model, --size), refuse a contradicting flag, and pixsyn convert rewrites a file in
// fp16 that loads into the fp32 model.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <pixsyn/coords/grid.hpp>
#include <pixsyn/io/npy.hpp>
#include <pixsyn/io/safetensors.hpp>
#include <pixsyn/models/cips.hpp>
#include <pixsyn/nn/serialize.hpp>
#include <pixsyn/render/tiled.hpp>
#include <string>

#include "run_pixsyn.hpp"

using namespace pixsyn;
using namespace pixsyn::test;

namespace {

const std::map<std::string, std::string> skips16{{"format", "pixsyn"}, {"model", "cips-skips"}, {"size", "16"}};

Tensor<float> library_render(const cips::Skips<16>& g, std::uint64_t seed) {
  return render::render_image(g, g.map(Tensor<float>::randn({2, 512}, Philox{seed})), coords::grid<float>(16, 16));
}

}  // namespace

TEST_CASE("render and info take the model from the weights' metadata") {
  CliTempDir dir;
  const cips::Skips<16> g(7);
  nn::save_safetensors(g, dir / "g.safetensors", skips16);
  const std::string weights = " --weights " + dir / "g.safetensors";

  pixsyn_ok("render --seed 5 --batch 2 --quiet --npy " + dir / "a.npy" + weights);
  const auto got = io::read_npy<float>(dir / "a.npy"), want = library_render(g, 5);
  REQUIRE(got.shape() == want.shape());
  for (std::int64_t i = 0; i < want.numel(); ++i) REQUIRE(got.data()[i] == want.data()[i]);
  // Flags that agree with the metadata are fine.
  pixsyn_ok("render --model cips-skips --size 16 --quiet" + weights);

  const Run info = pixsyn_ok("info" + weights);
  CHECK(info.lines[0] == "model:          cips-skips-16");
  CHECK(info.output.find("weights: " + dir / "g.safetensors" + " (loads)\n  format: pixsyn\n  model: cips-skips\n") !=
        std::string::npos);
  CHECK(info.lines.back() == "parameters: " + std::to_string(g.parameter_count()));
}

TEST_CASE("a flag that contradicts the weights' metadata, or metadata that names no model, is an error") {
  CliTempDir dir;
  nn::save_safetensors(cips::Skips<16>(1), dir / "g.safetensors", skips16);
  const std::string weights = " --weights " + dir / "g.safetensors";
  Run run = pixsyn_cli("render --model cips-res" + weights);
  check_one_error_line(run, "--model cips-res contradicts --weights '" + dir / "g.safetensors" +
                                "', which holds cips-skips-16 (its metadata); leave --model out");
  CHECK(run.code == 2);
  check_one_error_line(pixsyn_cli("info --size 32" + weights), "--size 32 contradicts --weights");

  // A file written elsewhere (no metadata) needs the flags, as before.
  nn::save_safetensors(cips::Skips<16>(1), dir / "plain.safetensors");
  check_one_error_line(pixsyn_cli("render --weights " + dir / "plain.safetensors"),
                       "does not say which model it holds (no \"model\" in its metadata: not written by pixsyn); give "
                       "--model and --size");
  pixsyn_ok("render --model cips-skips --size 16 --quiet --weights " + dir / "plain.safetensors");
  check_one_error_line(pixsyn_cli("render --seed 1"), "--model is required (or --weights of a file written by pixsyn");

  // Metadata that pixsyn cannot have written.
  auto odd = skips16;
  odd["model"] = "cips-huge";
  nn::save_safetensors(cips::Skips<16>(1), dir / "odd.safetensors", odd);
  check_one_error_line(pixsyn_cli("render --weights " + dir / "odd.safetensors"),
                       "holds the model 'cips-huge' (its metadata), which this pixsyn does not have");
  odd = skips16;
  odd["size"] = "sixteen";
  nn::save_safetensors(cips::Skips<16>(1), dir / "odd.safetensors", odd);
  check_one_error_line(pixsyn_cli("info --weights " + dir / "odd.safetensors"),
                       "metadata \"size\" is 'sixteen', not a positive integer");
  odd["size"] = "48";
  nn::save_safetensors(cips::Skips<16>(1), dir / "odd.safetensors", odd);
  check_one_error_line(pixsyn_cli("info --weights " + dir / "odd.safetensors"), "--size must be one of 16, 32");
}

TEST_CASE("convert writes fp16 weights with the model's metadata; they load into the fp32 model") {
  CliTempDir dir;
  const cips::Skips<16> g(3);
  nn::save_safetensors(g, dir / "g.safetensors");  // no metadata: the flags name the model
  const Run run = pixsyn_ok("convert --model cips-skips --size 16 --weights " + dir / "g.safetensors" + " --out " +
                            dir / "h.safetensors");
  CHECK(run.lines.back().find("cips-skips-16, ") != std::string::npos);
  const auto half = io::read_safetensors(dir / "h.safetensors");
  CHECK(half.metadata == skips16);
  for (const auto& [name, raw] : half.tensors) CHECK(raw.dtype == io::DType::F16);
  const auto full_bytes = std::filesystem::file_size(dir / "g.safetensors"),
             half_bytes = std::filesystem::file_size(dir / "h.safetensors");
  CHECK(half_bytes < full_bytes / 2 + 16384);

  // The fp16 file renders with no other flag, as the fp32 model with the rounded weights does, and
  // close to the fp32 weights.
  pixsyn_ok("render --seed 2 --batch 2 --quiet --npy " + dir / "h.npy --weights " + dir / "h.safetensors");
  cips::Skips<16> rounded(0);
  nn::load_safetensors(rounded, dir / "h.safetensors");
  const auto got = io::read_npy<float>(dir / "h.npy"), want = library_render(rounded, 2), full = library_render(g, 2);
  REQUIRE(got.shape() == want.shape());
  double worst = 0;
  for (std::int64_t i = 0; i < want.numel(); ++i) {
    REQUIRE(got.data()[i] == want.data()[i]);
    worst = std::max(worst, double(std::abs(got.data()[i] - full.data()[i])));
  }
  CHECK(worst > 0);  // the weights were rounded
  CHECK(worst < 0.05);

  // The output is never the input; a value fp16 cannot hold is refused, naming the tensor.
  check_one_error_line(pixsyn_cli("convert --weights " + dir / "h.safetensors" + " --out " + dir / "h.safetensors"),
                       "--out");
  auto state = g.state_dict();
  state.at("conv1.conv.weight").data()[3] = 1e6f;
  io::save_tensors(dir / "big.safetensors", state, skips16);
  check_one_error_line(pixsyn_cli("convert --weights " + dir / "big.safetensors" + " --out " + dir / "b.safetensors"),
                       "--dtype fp16: tensor 'conv1.conv.weight' holds 1e+06 at flat index 3, beyond fp16's range");
  CHECK(!std::filesystem::exists(dir / "b.safetensors"));
}
