#!/usr/bin/env bash
# Builds pixsyn and runs every CPU test (the README's test command; CI runs it too). When nvcc is
# present the CUDA backend and its tests are compiled as well; the GPU tests (label gpu) run in
# tools/gpu-check.sh on a GPU machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
cuda=()
nvcc=$(command -v nvcc || true)
[ -z "$nvcc" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc=/usr/local/cuda/bin/nvcc
[ -n "$nvcc" ] && cuda=(-DPIXSYN_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 "-DCMAKE_CUDA_COMPILER=$nvcc")
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "${cuda[@]}"
cmake --build build --parallel "$(nproc)"
ctest --test-dir build --output-on-failure --parallel "$(nproc)" -LE gpu
