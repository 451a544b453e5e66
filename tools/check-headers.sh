#!/usr/bin/env bash
# Every public header compiles on its own (CUDA-only headers excepted).
set -uo pipefail
cxx=${1:-c++}
cd "$(dirname "$0")/.."
failed=0
count=0
while IFS= read -r h; do
  count=$((count + 1))
  if ! echo "#include <${h#include/}>" | "$cxx" -std=c++20 -fsyntax-only -fopenmp -Iinclude -I/usr/include/eigen3 -x c++ - ; then
    echo "not self-contained: $h"
    failed=$((failed + 1))
  fi
done < <(find include/pixsyn -name '*.hpp' -not -path '*/backend/cuda/*' -not -name 'cuda.hpp' | sort)
echo "$count headers checked, $failed failed"
[ "$failed" -eq 0 ]
