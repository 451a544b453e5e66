#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz with clang (coverage + AddressSanitizer +
# UndefinedBehaviorSanitizer) and runs each from its seed corpus tests/fuzz/corpus/<name>/:
#   tools/fuzz.sh [--runs N | --seconds S] [--build-dir DIR] [name ...]
# --runs N: N inputs per harness from a fixed random seed (CI's short, repeatable budget; the
# default, 20000); --seconds S: S seconds per harness from a fresh seed. --build-dir: the build folder
# (default build-fuzz; one configured with -DPIXSYN_FUZZ=ON already, as tools/test.sh's build-asan,
# is used as it is). Exits non-zero when an input crashes a harness, trips a sanitizer, leaks, throws
# something other than pixsyn::Error or runs longer than 10 s. Inputs that reach new code are kept in
# DIR/corpus/<name>/, failing inputs in DIR/findings/<name>/, the logs beside them.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=(-runs=20000 -seed=1)
build=build-fuzz
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) budget=("-runs=$2" -seed=1); shift 2 ;;
    --seconds) budget=("-max_total_time=$2"); shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "tools/fuzz.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    *) names+=("$1"); shift ;;
  esac
done
if [ ${#names[@]} -eq 0 ]; then
  for source in tests/fuzz/*.cpp; do names+=("$(basename "$source" .cpp)"); done
fi

if ! grep -qs '^PIXSYN_FUZZ:BOOL=ON' "$build/CMakeCache.txt"; then
  # clang, its sanitizer and libFuzzer runtimes, and OpenMP for clang.
  bash tools/install-deps.sh clang-14 libclang-rt-14-dev libomp-14-dev
  # Debug at -O1: assertions stay on, and the sanitizers' reports keep their line numbers.
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
    -DCMAKE_CXX_COMPILER=clang++-14 -DPIXSYN_FUZZ=ON -DPIXSYN_BUILD_TESTS=OFF -DPIXSYN_BUILD_BENCH=OFF >/dev/null
fi
targets=()
for name in "${names[@]}"; do targets+=("fuzz_$name"); done
cmake --build "$build" --target "${targets[@]}" --parallel "$(nproc)"

status=0
for name in "${names[@]}"; do
  corpus=$build/corpus/$name findings=$build/findings/$name log=$build/fuzz_$name.log
  mkdir -p "$corpus" "$findings"
  # New inputs go to the first corpus folder; the committed seeds are only read.
  if "$build/tests/fuzz/fuzz_$name" "${budget[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$findings/" "$corpus" "tests/fuzz/corpus/$name" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    seconds=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log")
    echo "fuzz $name: ok, ${runs:-?} inputs in ${seconds:-?} s, corpus $(ls "$corpus" | wc -l) files"
  else
    echo "fuzz $name: FAILED; the input is in $findings/, the log in $log:"
    grep -E "ERROR|SUMMARY|Test unit written|==[0-9]+==|#[0-9]+ 0x" "$log" | head -30
    status=1
  fi
done
exit $status
