#!/usr/bin/env bash
# Every public header compiles on its own (the CUDA backend's declarations excepted: they need the
# CUDA library to link, not to compile, but are checked by the CUDA build).
set -uo pipefail
cxx=${1:-c++}
cd "$(dirname "$0")/.."
check() {
  echo "#include <${1#include/}>" | "$2" -std=c++20 -fsyntax-only -fopenmp -DEIGEN_DONT_PARALLELIZE -Iinclude \
    -I/usr/include/eigen3 -x c++ - || { echo "not self-contained: $1"; return 1; }
}
export -f check
headers=$(find include/pixsyn -name '*.hpp' -not -path '*/backend/cuda/*' -not -name 'cuda.hpp' | sort)
count=$(echo "$headers" | wc -l)
if echo "$headers" | xargs -P "$(nproc)" -I{} bash -c 'check "$1" "$2"' _ {} "$cxx"; then
  echo "$count headers checked, all self-contained"
else
  echo "some of $count headers are not self-contained"
  exit 1
fi
