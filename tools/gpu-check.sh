#!/usr/bin/env bash
# On the GPU machine: builds pixsyn with CUDA, runs the GPU tests (ctest label gpu) and then the CPU
# tests, and prints a summary. Dependencies without system packages come from .gpu-deps/ (copied
# there by `tools/gpu-check.sh --stage-deps` on a development machine).
#   tools/gpu-check.sh [--gpu-only] [--bench] [--sanitize]   --gpu-only skips the CPU tests; --bench runs
#   bench_cips_gpu and bench_creps_gpu too; --sanitize runs the GPU tests under compute-sanitizer as well
#   (tools/gpu-sanitize.sh).
# PIXSYN_TEST_FILTER (a regex over test sources) narrows the tests built, as in tests/CMakeLists.txt.
# The install and header checks need the system packages, so they run in CI (tools/test.sh) only.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ "${1:-}" = "--stage-deps" ]; then
  # Headers only: libstb is compiled from stb's headers there, zlib's library is the machine's own
  # (see cmake/PixsynDependencies.cmake); without libjpeg-dev there, pixsyn is configured without JPEG
  # reading.
  mkdir -p .gpu-deps/include
  cp -r /usr/include/eigen3 /usr/include/doctest /usr/include/nlohmann /usr/include/stb .gpu-deps/include/
  cp /usr/include/zlib.h /usr/include/zconf.h .gpu-deps/include/  # linked against the machine's libz.so.1
  [ -d /usr/include/CLI ] && cp -r /usr/include/CLI .gpu-deps/include/
  mkdir -p .git/info
  grep -qx '/.gpu-deps/' .git/info/exclude 2>/dev/null || echo '/.gpu-deps/' >> .git/info/exclude
  du -sh .gpu-deps
  exit 0
fi

gpu_only=0 bench=0 sanitize=0
for arg in "$@"; do
  case $arg in
    --gpu-only) gpu_only=1 ;;
    --bench) bench=1 ;;
    --sanitize) sanitize=1 ;;
    *) echo "unknown option $arg" >&2; exit 2 ;;
  esac
done

export PATH=/usr/local/cuda/bin:$PATH
build=${PIXSYN_GPU_BUILD:-build-gpu}
jobs=$(nproc)
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
nvcc --version | tail -1

start=$(date +%s)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPIXSYN_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES="${CMAKE_CUDA_ARCHITECTURES:-90}" -DPIXSYN_DEPS_PREFIX="$root/.gpu-deps" \
  -DPIXSYN_TEST_FILTER="${PIXSYN_TEST_FILTER:-}" -DPIXSYN_BUILD_EXAMPLES=OFF -DPIXSYN_BUILD_BENCH=$([ $bench = 1 ] && echo ON || echo OFF) >"$build.configure.log" 2>&1 \
  || { tail -30 "$build.configure.log"; echo "SUMMARY: configure FAILED"; exit 1; }
targets=(test_cuda)
[ $bench = 1 ] && targets+=(bench_cips_gpu bench_creps_gpu)
[ $gpu_only = 0 ] && targets=(all)
if ! cmake --build "$build" --parallel "$jobs" --target "${targets[@]}" >"$build.build.log" 2>&1; then
  grep -E "error|FAILED" -A3 "$build.build.log" | head -60
  echo "SUMMARY: build FAILED"
  exit 1
fi
built=$(date +%s)

status=0
gpu="passed"
ctest --test-dir "$build" -L gpu --output-on-failure --timeout 400 || { gpu="FAILED"; status=1; }
gpu_done=$(date +%s)
cpu="skipped"
if [ $gpu_only = 0 ]; then
  # The photo tests (io, examples) read ../shared/data, which a GPU machine may not have: CI runs them.
  exclude="install_consumer|headers_self_contained"
  if [ ! -d "$root/../shared/data" ]; then
    exclude="$exclude|^io$|^examples$"
    echo "note: no ../shared/data here: the io and examples tests are left to CI"
  fi
  if ctest --test-dir "$build" -LE gpu -E "$exclude" --output-on-failure --parallel "$jobs" --timeout 300; then
    cpu="passed"
  else
    cpu="FAILED"
    status=1
  fi
fi
if [ $bench = 1 ]; then
  "$build/bench/bench_cips_gpu" || status=1
  "$build/bench/bench_creps_gpu" || status=1
fi
sanitized="not run"
if [ $sanitize = 1 ]; then
  if tools/gpu-sanitize.sh "$build"; then sanitized="clean"; else sanitized="FAILED"; status=1; fi
fi
echo "SUMMARY: build $((built - start)) s; gpu tests $gpu in $((gpu_done - built)) s; cpu tests $cpu; sanitizers $sanitized; exit $status"
exit $status
