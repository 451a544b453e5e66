#!/usr/bin/env bash
# Builds pixsyn and runs every CPU test (the README's test command; CI runs it too), three ways:
#  1. the release build: every test. When nvcc is present the CUDA backend and its tests are compiled
#     as well; the GPU tests (label gpu) run in tools/gpu-check.sh on a GPU machine.
#  2. build-asan: the same tests built with AddressSanitizer + UndefinedBehaviorSanitizer (no CUDA, no
#     benchmarks); any report fails the test.
#  3. the libFuzzer harnesses of tests/fuzz, a short fixed number of inputs each (tools/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
jobs=$(nproc)
cuda=()
nvcc=$(command -v nvcc || true)
[ -z "$nvcc" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc=/usr/local/cuda/bin/nvcc
[ -n "$nvcc" ] && cuda=(-DPIXSYN_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 "-DCMAKE_CUDA_COMPILER=$nvcc")
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "${cuda[@]}"
cmake --build build --parallel "$jobs"
ctest --test-dir build --output-on-failure --parallel "$jobs" -LE gpu

# Debug at -O1: assertions on, reports with line numbers, fast enough for every test. The
# whole-project checks (install, headers, layering) do not change with the flags and ran above.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" -DPIXSYN_SANITIZE=ON \
  -DPIXSYN_BUILD_BENCH=OFF
cmake --build build-asan --parallel "$jobs"
ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1 \
  UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure --parallel "$jobs" -LE gpu \
  -E '^(install_consumer|headers_self_contained|layering)$'

bash tools/fuzz.sh --runs 20000
