#!/usr/bin/env bash
# Builds pixsyn and runs every CPU test (the README's test command; CI runs it too), three ways:
#  1. the release build: every test. When nvcc is present the CUDA backend and its tests are compiled
#     as well; the GPU tests (label gpu) run in tools/gpu-check.sh on a GPU machine. For CI's time it is a
#     test build, not the programs' release: the tests, the program and the examples compile at -O1 (they
#     run here), the benchmarks, test_cuda and the program's GPU training files at -O0 (compiled, never run
#     here); docs/reliability.md. The programs users run come from tools/demo.sh or a plain cmake build (-O3).
#  2. build-asan: the tests of the input-facing areas built with clang, AddressSanitizer and
#     UndefinedBehaviorSanitizer (no CUDA, ops, models, examples or benchmarks); any report fails the test;
#  3. from the same build, the readers' libFuzzer harnesses of tests/fuzz (tools/fuzz.sh), 20000 inputs each
#     (the program's parser harness, cli_parse, runs by hand: docs/reliability.md, CI time).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
jobs=$(nproc)
cuda=()
nvcc=$(command -v nvcc || true)
[ -z "$nvcc" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc=/usr/local/cuda/bin/nvcc
[ -n "$nvcc" ] && cuda=(-DPIXSYN_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 "-DCMAKE_CUDA_COMPILER=$nvcc")
# libjpeg is required here (install-deps.sh installs it): CI tests JPEG reading, not its absence. So are
# the InceptionV3 weights of the evaluation metrics (the npm registry is reachable in CI): their tests fail
# without them. inception.sh needs node only, not npm (npm's Debian package pulls hundreds more).
command -v node >/dev/null || bash tools/install-deps.sh nodejs
bash tools/data/inception.sh build/inception
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DPIXSYN_REQUIRE_JPEG=ON \
  -DPIXSYN_INCEPTION_DIR="$PWD/build/inception" -DPIXSYN_REQUIRE_INCEPTION=ON -DPIXSYN_TEST_OPTIMIZATION=-O1 \
  -DPIXSYN_PROGRAM_OPTIMIZATION=-O1 -DPIXSYN_COMPILE_CHECK_OPTIMIZATION=-O0 "${cuda[@]}"
cmake --build build --parallel "$jobs"
ctest --test-dir build --output-on-failure --parallel "$jobs" -LE gpu

# One clang build for the sanitizers and the fuzz harnesses: ASan + UBSan (any report fails the test)
# and libFuzzer's coverage instrumentation; Debug at -O1 (assertions on), with line tables only: the reports'
# stack frames keep their files and lines (15% less compile time than full -g, no variables for a debugger).
# It builds and runs the tests of the code that takes outside input or manages memory (sizes and
# allocation, coordinates, readers and outputs, weights, autograd, metrics). The numeric kernels'
# areas (ops, models, examples), the program's tests (cli; its parser is fuzzed here), the example
# programs, the benchmarks and the whole-project checks run in the release build only: sanitized as
# well, they would take CI past 25 minutes on 2 cores (docs/reliability.md).
sanitized=(core coords io nn autograd metrics)
bash tools/install-deps.sh clang-14 libclang-rt-14-dev libomp-14-dev
# The readers' harnesses only: the program's parser harness (cli_parse) links the whole program's library,
# about 4 minutes of CI on 2 cores; it runs with `tools/fuzz.sh cli_parse` (docs/reliability.md).
harnesses=(image npy safetensors)
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" \
  -DCMAKE_CXX_COMPILER=clang++-14 -DPIXSYN_SANITIZE=ON -DPIXSYN_FUZZ=ON -DPIXSYN_BUILD_BENCH=OFF \
  -DPIXSYN_BUILD_EXAMPLES=OFF -DPIXSYN_REQUIRE_JPEG=ON
cmake --build build-asan --parallel "$jobs" --target "${sanitized[@]/#/test_}" "${harnesses[@]/#/fuzz_}"
ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure --parallel "$jobs" -R "^($(IFS='|'; echo "${sanitized[*]}"))\$"
# A fixed seed on a fresh corpus: every CI run replays the seeds (the regress-* findings among them) and
# the same exploration.
bash tools/fuzz.sh --build-dir build-asan --runs 20000 "${harnesses[@]}"
