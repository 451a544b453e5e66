// pixsyn train --gpus and the torchrun variables: what a machine without GPUs (CI) can check, the usage
// errors before any work. The runs on two GPUs are tools/gpu-check-dist.sh's.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "run_pixsyn.hpp"

using namespace pixsyn::test;

TEST_CASE("pixsyn train --gpus and WORLD_SIZE: refused before any work where they cannot run") {
  const std::string train = "train --model cips-skips --size 32 --max-channels 16 --steps 1 --data fashion-mnist ";
  auto run = pixsyn_cli(train + "--out /nonexistent/run --gpus 2");
  CHECK(run.code == 2);
  CHECK(run.output.find("--gpus 2 needs --device cuda") != std::string::npos);
  run = pixsyn_cli(train + "--out /nonexistent/run --gpus 3 --batch 8 --device cuda");
  CHECK(run.code == 2);
  CHECK(run.output.find("--batch 8 does not split over --gpus 3") != std::string::npos);
  // A process started as one rank of a run (several machines): NCCL needs the GPU.
  run = pixsyn_cli(train + "--out /nonexistent/run", "WORLD_SIZE=2 RANK=1");
  CHECK(run.code == 2);
  CHECK(run.output.find("a distributed run (WORLD_SIZE=2) talks over NCCL: it needs --device cuda") !=
        std::string::npos);
  run = pixsyn_cli(train + "--out /nonexistent/run", "WORLD_SIZE=2 RANK=2");
  CHECK(run.code == 1);
  CHECK(run.output.find("RANK='2' is not an integer in 0 .. 1") != std::string::npos);
}

TEST_CASE("pixsyn render and panorama --gpus: refused before any work where they cannot run") {
  CliTempDir dir;
  const std::string pano = "panorama --model alis --size 16 --frames 2 --png " + dir / "p.png";
  check_one_error_line(pixsyn_cli("render --model cips-skips --size 16 --gpus 2"), "--gpus 2 needs --device cuda");
  check_one_error_line(pixsyn_cli(pano + " --gpus 2"), "--gpus 2 needs --device cuda");
  // With --device cuda: a pixsyn built without CUDA refuses that first; one built with it refuses ALIS under
  // render --gpus (its frames split over GPUs in a panorama), and more GPUs than the process sees (none in CI),
  // before any rank starts.
  const auto refused = [](const Run& run, const std::string& with_cuda) {
    INFO(run.output);
    CHECK(run.code == 2);
    CHECK(run.lines.size() == 1);
    CHECK((run.output.find(with_cuda) != std::string::npos ||
           run.output.find("this pixsyn was built without CUDA") != std::string::npos));
  };
  refused(pixsyn_cli("render --model alis --size 16 --device cuda --gpus 2"),
          "--gpus: alis renders whole frames on one GPU here; pixsyn panorama --gpus spreads a panorama's frames");
  refused(pixsyn_cli("render --model cips-skips --size 16 --device cuda --gpus 64"), "--gpus 64: this process sees");
  refused(pixsyn_cli(pano + " --device cuda --gpus 64"), "--gpus 64: this process sees");
  CHECK(!std::filesystem::exists(dir / "p.png"));
}
