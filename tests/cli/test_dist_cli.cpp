// pixsyn train --gpus and the torchrun variables: what a machine without GPUs (CI) can check, the usage
// errors before any work. The runs on two GPUs are tools/gpu-check-dist.sh's.
#include <doctest/doctest.h>

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
