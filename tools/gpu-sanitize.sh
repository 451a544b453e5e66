#!/usr/bin/env bash
# On the GPU machine: runs the GPU tests (test_cuda of a CUDA build) under compute-sanitizer, one tool after
# the other (side by side, the tools ran out of memory), each into BUILD/sanitize-<tool>.log, and prints a
# summary. What each run covers and what the tools cannot check: docs/cuda.md#sanitizers.
#   memcheck   every test, every kernel, with the leak check
#   synccheck  every test, every kernel; the tool's own "Internal Sanitizer Error" lines (launches it could
#              not track) are counted apart from real errors
#   racecheck  the op tests ("cuda: *"), pixsyn's kernels only: racecheck fails with an internal error in
#              any process that runs the fused Hopper layer or cuBLAS's Hopper GEMMs next to it
#   tools/gpu-sanitize.sh BUILD [TIMEOUT_S]   (tools/gpu-check.sh --sanitize calls it after building)
# Exits non-zero when a run reports a real error or a leak, or does not finish.
set -uo pipefail
build=${1:?usage: tools/gpu-sanitize.sh BUILD [TIMEOUT_S]}
limit=${2:-1800}
tests="$build/tests/test_cuda"
[ -x "$tests" ] || { echo "gpu-sanitize: no $tests (build the test_cuda target first)"; exit 2; }
sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
"$sanitizer" --version | tail -1

status=0
run() {  # name, sanitizer options... -- test options...
  local name=$1 log="$build/sanitize-$1.log"
  shift
  local options=()
  while [ "$1" != "--" ]; do options+=("$1"); shift; done
  shift
  timeout "$limit" "$sanitizer" "${options[@]}" --print-limit 100 "$tests" "$@" >"$log" 2>&1
  local code=$?
  local errors internal
  errors=$(sed -n -e 's/.*ERROR SUMMARY: \([0-9]*\) error.*/\1/p' \
    -e 's/.*RACECHECK SUMMARY: .*(\([0-9]*\) error.*/\1/p' "$log" | tail -1)
  internal=$(grep -c "Internal Sanitizer Error" "$log")
  echo "== $name: exit $code; ${errors:-no} errors reported, of which $internal internal to the tool ($log)"
  grep -E "LEAK SUMMARY|RACECHECK SUMMARY|test cases:" "$log"
  [ "$code" = 0 ] && [ -n "$errors" ] && [ "$errors" = "$internal" ] && ! grep -q "Leaked" "$log" || status=1
}

run memcheck --tool memcheck --leak-check full --
run synccheck --tool synccheck --
run racecheck --tool racecheck --racecheck-report hazard --kernel-name kns=pixsyn -- --test-case='cuda: *'
echo "SANITIZE: $([ $status = 0 ] && echo clean || echo FAILED)"
exit $status
