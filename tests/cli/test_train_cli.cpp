// pixsyn train: the CPU smoke test of issue 10 (tiny G and D, a few steps at 32² on a few hundred
// Fashion-MNIST images: finite losses, G changes, the checkpoint round-trips) and resume.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <pixsyn/coords/axis_grid.hpp>
#include <pixsyn/coords/grid.hpp>
#include <pixsyn/core/tensor.hpp>
#include <pixsyn/io/image.hpp>
#include <pixsyn/io/npy.hpp>
#include <pixsyn/io/safetensors.hpp>
#include <pixsyn/models/alis.hpp>
#include <pixsyn/models/cips.hpp>
#include <pixsyn/models/creps.hpp>
#include <pixsyn/nn/rosinality_discriminator.hpp>
#include <pixsyn/nn/serialize.hpp>
#include <pixsyn/render/tiled.hpp>
#include <pixsyn/render/tiled_creps.hpp>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "run_pixsyn.hpp"
#include "trainable.hpp"

using namespace pixsyn;
using namespace pixsyn::test;

namespace {

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The step column of a run's log.csv, header included.
std::vector<std::string> logged_steps(const std::string& log_csv) {
  std::ifstream log(log_csv);
  std::vector<std::string> steps;
  for (std::string line; std::getline(log, line);) steps.push_back(line.substr(0, line.find(',')));
  return steps;
}

// Four 32 x 32 noise images as a data folder: quicker to load than Fashion-MNIST.
std::string noise_folder(const CliTempDir& dir) {
  std::filesystem::create_directories(dir / "data");
  for (int i = 0; i < 4; ++i)
    io::write_png(dir / ("data/" + std::to_string(i) + ".png"),
                  Tensor<float>::rand({3, 32, 32}, Philox{static_cast<std::uint64_t>(i)}));
  return dir / "data";
}

// A tiny run of `model` (the 32/16 variant, the StyleGAN2-ADA loop: step 0 has the path-length term), one
// step and then one more resumed from its checkpoint; returns its G_ema's path and `render --weights G_ema
// --seed 3 --batch 2`, which needs no other flag.
std::pair<std::string, Tensor<float>> train_resumed(const CliTempDir& dir, const std::string& model) {
  const std::string common = "train --model " + model + " --size 32 --max-channels 16 --batch 4 --quiet --data " +
                             noise_folder(dir) + " --out " + dir / "run";
  pixsyn_ok(common + " --steps 1");
  const Run resumed = pixsyn_ok(common + " --steps 2 --resume");
  CHECK(std::find(resumed.lines.begin(), resumed.lines.end(), "resuming from step 1") != resumed.lines.end());
  CHECK(logged_steps(dir / "run/log.csv") == std::vector<std::string>{"step", "1", "2"});
  CHECK(io::read_image(dir / "run/samples/step-2.png").shape() == Shape{3, 4 * 32, 4 * 32});
  const std::string g_ema = dir / "run/g_ema.safetensors";
  const auto metadata = io::read_safetensors(g_ema).metadata;
  CHECK(metadata.at("model") == model);
  CHECK(metadata.at("size") == "32");
  CHECK(metadata.at("max_channels") == "16");
  CHECK(metadata.at("steps") == "2");
  CHECK(metadata.at("precision") == "fp32");
  pixsyn_ok("render --weights " + g_ema + " --seed 3 --batch 2 --quiet --npy " + dir / "r.npy");
  return {g_ema, io::read_npy<float>(dir / "r.npy")};
}

void check_same(const Tensor<float>& got, const Tensor<float>& want) {
  REQUIRE(got.shape() == want.shape());
  for (std::int64_t i = 0; i < want.numel(); ++i) REQUIRE(got.data()[i] == want.data()[i]);
}

}  // namespace

TEST_CASE("pixsyn train on Fashion-MNIST: finite losses, a moved G_ema, a checkpoint that resumes") {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    MESSAGE("dataset-fashion-mnist is not installed (tools/install-deps.sh installs it); skipped");
    return;
  }
  CliTempDir dir;
  const std::string reporting =
                        "train --model cips-skips --size 32 --max-channels 16 --data fashion-mnist --batch 4 "
                        "--sample-every 2",
                    common = reporting + " --quiet";
  pixsyn_ok(common + " --steps 3 --out " + dir / "run");
  std::ifstream log(dir / "run/log.csv");
  std::vector<std::string> rows;
  for (std::string line; std::getline(log, line);) rows.push_back(line);
  REQUIRE(rows.size() == 4);
  CHECK(rows[0] == "step,loss_g,loss_d,r1,images_per_s");
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const double loss_g = std::stod(rows[i].substr(rows[i].find(',') + 1));
    CHECK(std::isfinite(loss_g));
  }
  const auto g_ema = io::read_safetensors(dir / "run/g_ema.safetensors");
  CHECK(g_ema.metadata.at("model") == "cips-skips");
  CHECK(g_ema.metadata.at("size") == "32");
  CHECK(g_ema.metadata.at("max_channels") == "16");

  // 3 steps, then 2 more from the checkpoint: the same bytes as 5 straight. The resumed run reports its
  // progress (stderr is a pipe here: plain lines, one at each tenth of the run).
  const auto resumed = pixsyn_ok(reporting + " --steps 5 --resume --out " + dir / "run");
  std::vector<std::string> progress;
  std::copy_if(resumed.lines.begin(), resumed.lines.end(), std::back_inserter(progress),
               [](const std::string& l) { return l.rfind("train: ", 0) == 0; });
  REQUIRE(progress.size() == 2);
  const std::regex losses(R"(, loss_g -?[0-9]+\.[0-9]{4}, loss_d [0-9]+\.[0-9]{4}, [0-9.]+ k?images/s, )");
  CHECK(std::regex_search(progress[0], losses));
  CHECK(progress[0].rfind("train: 4/5 steps (80%), loss_g ", 0) == 0);
  CHECK(progress[0].find(", ETA ") != std::string::npos);
  CHECK(progress[1].rfind("train: 5/5 steps (100%), loss_g ", 0) == 0);
  CHECK(resumed.output.find('\r') == std::string::npos);
  pixsyn_ok(common + " --steps 5 --out " + dir / "straight");
  CHECK(bytes_of(dir / "run/g_ema.safetensors") == bytes_of(dir / "straight/g_ema.safetensors"));

  // G_ema renders from its metadata alone, as the library renders the narrow generator it names.
  const std::string g_ema_path = dir / "straight/g_ema.safetensors";
  CHECK(pixsyn_ok("info --weights " + g_ema_path).lines[0] == "model:          cips-skips-32 (max_channels 16)");
  pixsyn_ok("render --weights " + g_ema_path + " --seed 3 --batch 2 --quiet --npy " + dir / "r.npy");
  cips::Generator<cli::narrow_cips({32, 16}), float> narrow(0);
  nn::load_safetensors(narrow, g_ema_path);
  const auto want =
      render::render_image(narrow, narrow.map(Tensor<float>::randn({2, 16}, Philox{3})), coords::grid<float>(32, 32));
  const auto got = io::read_npy<float>(dir / "r.npy");
  REQUIRE(got.shape() == want.shape());
  for (std::int64_t i = 0; i < want.numel(); ++i) REQUIRE(got.data()[i] == want.data()[i]);
  auto odd = io::read_safetensors(g_ema_path);
  odd.metadata["max_channels"] = "24";
  io::write_safetensors(dir / "odd.safetensors", odd);
  check_one_error_line(
      pixsyn_cli("render --weights " + dir / "odd.safetensors"),
      "cips-skips-32 with max_channels 24 is not a variant this pixsyn builds; those of cips-skips are "
      "(size/max_channels) 32/16, 32/32, ");

  // Sample grids every 2 steps and at the end: 16 fixed latents (per seed) as a 4 x 4 grid, the same
  // after a resume.
  for (const char* name :
       {"run/samples/step-2.png", "run/samples/step-3.png", "run/samples/step-5.png", "straight/samples/step-4.png"}) {
    CAPTURE(name);
    const auto grid = io::read_image(dir / name);
    CHECK(grid.shape() == Shape{3, 4 * 32, 4 * 32});
  }
  CHECK(!std::filesystem::exists(dir / "straight/samples/step-3.png"));
  CHECK(bytes_of(dir / "run/samples/step-4.png") == bytes_of(dir / "straight/samples/step-4.png"));
  CHECK(bytes_of(dir / "run/samples/step-2.png") != bytes_of(dir / "run/samples/step-4.png"));

  // A checkpoint of another model is refused before loading, naming what differs.
  const Run other = pixsyn_cli(
      "train --size 32 --max-channels 32 --data fashion-mnist --batch 4 --steps 6 --resume --out " + dir / "run");
  CHECK(other.code == 1);
  CHECK(other.lines.back().rfind("error: Trainer::resume: '", 0) == 0);
  CHECK(other.lines.back().find("': it is a checkpoint of max_channels 16, not max_channels 32 (another run's "
                                "folder, or that run's options)") != std::string::npos);

  // A disk that fills up while checkpointing (here a file size limit: writes fail with EFBIG): a clear
  // error, the previous checkpoint intact, no temporary file left, and the run resumes from it.
  const std::string checkpoint_5 = bytes_of(dir / "run/checkpoint-5.safetensors");
  const Run full =
      pixsyn_cli(common + " --steps 7 --checkpoint-every 1 --resume --out " + dir / "run", "ulimit -f 200;");
  CHECK(full.code == 1);
  CHECK(full.lines.back().rfind("error: write_file_atomic: cannot write '" + dir / "run/checkpoint-6.safetensors", 0) ==
        0);
  CHECK(full.lines.back().find("File too large") != std::string::npos);
  CHECK(bytes_of(dir / "run/checkpoint-5.safetensors") == checkpoint_5);
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "run"))
    files.push_back(entry.path().filename().string());
  std::sort(files.begin(), files.end());
  CHECK(files == std::vector<std::string>{"checkpoint-3.safetensors", "checkpoint-5.safetensors", "g_ema.safetensors",
                                          "log.csv", "samples"});
  pixsyn_ok(common + " --steps 6 --resume --out " + dir / "run");
  std::ifstream log_file(dir / "run/log.csv");
  std::vector<std::string> steps;
  for (std::string line; std::getline(log_file, line);) steps.push_back(line.substr(0, line.find(',')));
  CHECK(steps == std::vector<std::string>{"step", "1", "2", "3", "4", "5", "6"});
}

TEST_CASE("pixsyn train --model alis: a tiny run resumes, and render draws its G_ema from the metadata alone") {
  CliTempDir dir;
  const auto [g_ema, rendered] = train_resumed(dir, "alis");
  alis::Narrow<32, 16> g(0);
  nn::load_safetensors(g, g_ema);
  check_same(rendered, g.generate(Tensor<float>::randn({2, 3, 16}, Philox{3}), {0}));
}

TEST_CASE("pixsyn train --model creps: a tiny run resumes, and render draws its G_ema from the metadata alone") {
  CliTempDir dir;
  const auto [g_ema, rendered] = train_resumed(dir, "creps");
  creps::Narrow<32, 16> g(0);
  nn::load_safetensors(g, g_ema);
  check_same(rendered, render::render_image(g, g.map(Tensor<float>::randn({2, 16}, Philox{3})),
                                            coords::axis_grid<float>(32, 32)));
}

TEST_CASE("pixsyn train --patch: CIPS on multi-scale patches (D at the patch size), resumed exactly; bad patches") {
  CliTempDir dir;
  const std::string tiny = "train --size 32 --max-channels 16 --batch 4 --quiet --data " + noise_folder(dir);
  pixsyn_ok(tiny + " --patch 16 --steps 3 --out " + dir / "straight");
  pixsyn_ok(tiny + " --patch 16 --steps 2 --out " + dir / "run");
  pixsyn_ok(tiny + " --patch 16 --steps 3 --resume --out " + dir / "run");
  CHECK(bytes_of(dir / "run/g_ema.safetensors") == bytes_of(dir / "straight/g_ema.safetensors"));
  CHECK(logged_steps(dir / "run/log.csv") == std::vector<std::string>{"step", "1", "2", "3"});
  // D was built for the 16 x 16 patches: the checkpoint holds exactly its tensors.
  const auto checkpoint = io::read_safetensors(dir / "run/checkpoint-3.safetensors");
  CHECK(checkpoint.metadata.at("patch") == "16");
  const auto d16 = nn::RosinalityDiscriminator<float>({.size = 16, .max_channels = 16}).state_dict();
  std::size_t d_tensors = 0;
  for (const auto& [key, tensor] : checkpoint.tensors)
    if (key.rfind("d.", 0) == 0) {
      CAPTURE(key);
      ++d_tensors;
      REQUIRE(d16.count(key.substr(2)) == 1);
      CHECK(tensor.shape == d16.at(key.substr(2)).shape());
    }
  CHECK(d_tensors == d16.size());
  // G renders full images from its metadata alone.
  pixsyn_ok("render --weights " + dir / "run/g_ema.safetensors" + " --seed 1 --quiet --npy " + dir / "r.npy");
  CHECK(io::read_npy<float>(dir / "r.npy").shape() == Shape{1, 3, 32, 32});

  // Another patch size is another run; a patch is a power of two below the size; the variants that train on
  // patches are listed.
  const Run other = pixsyn_cli(tiny + " --patch 8 --steps 4 --resume --out " + dir / "run");
  CHECK(other.code == 1);
  CHECK(other.lines.back().find("it is a checkpoint of patch 16, not patch 8") != std::string::npos);
  const std::string bad = "train --steps 1 --data " + dir / "data" + " --out " + dir / "bad ";
  check_one_error_line(pixsyn_cli(bad + "--size 32 --max-channels 16 --patch 12"),
                       "--patch 12 must be a power of two below --size 32 (8 .. 16)");
  check_one_error_line(pixsyn_cli(bad + "--size 32 --max-channels 16 --patch 32"), "below --size 32");
  check_one_error_line(pixsyn_cli(bad + "--size 32 --max-channels 16 --patch 4"), "--patch");
  check_one_error_line(pixsyn_cli(bad + "--size 64 --max-channels 64 --patch 16"),
                       "--patch: cips-skips 64/64 trains on full images only; the variants (size/max-channels) that "
                       "train on patches are 32/16, 256/64");
  check_one_error_line(pixsyn_cli(bad + "--model alis --size 32 --max-channels 16 --patch 16"),
                       "--patch is CIPS's patch training: alis trains on full images only");
  CHECK(!std::filesystem::exists(dir / "bad"));
}

TEST_CASE("a folder's images load with a progress report; smaller ones are upscaled, with one warning") {
  CliTempDir dir;
  std::filesystem::create_directories(dir / "data");
  io::write_png(dir / "data/large.png", Tensor<float>::full({3, 40, 40}, 0.5f));
  io::write_png(dir / "data/small.png", Tensor<float>::full({3, 12, 20}, 0.5f));
  const Run run = pixsyn_ok("train --size 32 --max-channels 16 --batch 2 --steps 0 --data " + dir / "data" + " --out " +
                            dir / "run");
  // Off a terminal: a line at each tenth of the files (here each of the two), then the count.
  REQUIRE(run.lines.size() == 4);
  CHECK(run.lines[0].rfind("data: 1/2 images (50%), ", 0) == 0);
  CHECK(run.lines[1].rfind("data: 2/2 images (100%), ", 0) == 0);
  CHECK(run.lines[2] == "warning: dataset: folder '" + dir / "data" +
                            "': 1 of 2 images are smaller than the training size (a shorter side below 32; the "
                            "smallest 20x12): they are upscaled, and G learns their blur");
  CHECK(run.lines[3] == "data: 2 images (0 skipped)");
}

TEST_CASE("pixsyn train refuses bad data and batches") {
  CliTempDir dir;
  check_one_error_line(pixsyn_cli("train --data " + dir / "missing" + " --out " + dir / "run --steps 1"),
                       "does not exist or is not a folder");
  check_one_error_line(pixsyn_cli("train --data " + dir.path.string() + " --out " + dir / "run --steps 1"),
                       "holds no .png, .jpg or .jpeg file");
  check_one_error_line(pixsyn_cli("train --data fashion-mnist --batch 6 --out " + dir / "run --steps 1"),
                       "minibatch-stddev groups of 4");
  check_one_error_line(
      pixsyn_cli("train --model alis --size 32 --max-channels 32 --data fashion-mnist --out " + dir / "run"),
      "--size 32 --max-channels 32 is not a trained variant of alis; size/max-channels: 32/16, 64/64, 128/128, "
      "256/128");
#if !PIXSYN_CLI_WITH_CUDA
  check_one_error_line(pixsyn_cli("train --model creps --size 32 --max-channels 16 --device cuda --data "
                                  "fashion-mnist --out " +
                                  dir / "run"),
                       "this pixsyn was built without CUDA (configure with -DPIXSYN_CUDA=ON)");
#endif
}
