#!/usr/bin/env bash
# On a machine with two GPUs: builds pixsyn with CUDA and checks the distributed pieces (docs/distributed.md):
#   1. the 2-rank equivalence test over NCCL (tests/cuda/test_cuda_train.cpp, double, bound 1e-10);
#   2. a rank killed during `pixsyn train --gpus 2` ends the run (launcher exit status, time), and --resume
#      continues it;
#   3. a rank killed in a run started by hand (WORLD_SIZE, no launcher) stops the other rank within
#      PIXSYN_DIST_TIMEOUT (the NCCL watchdog path);
#   4. training images/s on 1 and 2 GPUs (cips-skips 256/64, and alis 64/64), the 2-GPU runs with the
#      gradient all-reduce overlapped with the backward pass (the default) and after it (--no-overlap);
#      SCALING_STEPS (default 60) steps each for cips-skips, ALIS_SCALING_STEPS (default 4 times as many:
#      its steps are short) for alis, rates of the last half;
#   5. a 16384² CIPS render split over the 2 GPUs (bench_split_render_gpu) against one GPU;
#   6. pixsyn render and panorama --gpus 2 against --gpus 1, byte for byte (and a band of rows of the CIPS
#      fast path against the CPU, noise included: test_cuda "cuda cips: *"); --gpus 3 refused.
# Everything it writes goes to OUT (default out/dist-check). Prints one SUMMARY line per part.
#   tools/gpu-check-dist.sh [DATA]   DATA: a folder of PNG images (default out/train-photos)
# PARTS (default "1 2 3 4 5 6") picks the parts; the build always runs.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
data=${1:-out/train-photos}
out=${OUT:-out/dist-check}
build=${PIXSYN_GPU_BUILD:-build-gpu}
mkdir -p "$out"
export PATH=/usr/local/cuda/bin:$PATH
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader || true
parts=" ${PARTS:-1 2 3 4 5 6} "
part() { [[ $parts == *" $1 "* ]]; }
if part 2 || part 3 || part 4; then [ -d "$data" ] || { echo "SUMMARY: no data folder $data"; exit 1; }; fi

start=$(date +%s)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPIXSYN_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DPIXSYN_DEPS_PREFIX="$root/.gpu-deps" -DPIXSYN_TEST_FILTER='cuda_train|cuda_cips' -DPIXSYN_BUILD_EXAMPLES=ON \
  -DPIXSYN_BUILD_BENCH=ON >"$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; echo "SUMMARY: configure FAILED"; exit 1; }
cmake --build "$build" --parallel "$(nproc)" --target test_cuda pixsyn_cli bench_split_render_gpu >"$out/build.log" 2>&1 ||
  { grep -E "error|FAILED" -A3 "$out/build.log" | head -60; echo "SUMMARY: build FAILED"; exit 1; }
echo "SUMMARY: build $(($(date +%s) - start)) s"
pixsyn=$build/tools/pixsyn
status=0

# 1. Equivalence over NCCL.
if part 1; then
"$build/tests/test_cuda" -tc='data-parallel over NCCL*' -s 2>&1 | tee "$out/equivalence.log" | grep -E "MESSAGE|largest|passed|failed|error" | head -20
if grep -q "Status: SUCCESS" "$out/equivalence.log"; then echo "SUMMARY: equivalence passed"; else echo "SUMMARY: equivalence FAILED"; status=1; fi
fi

train64=(train --device cuda --model cips-skips --size 64 --max-channels 64 --batch 16 --data "$data" -q)

# 2. Kill rank 1 under the launcher, then resume.
if part 2; then
rm -rf "$out/kill"
"$pixsyn" "${train64[@]}" --gpus 2 --steps 3000 --checkpoint-every 20 --out "$out/kill" 2>"$out/kill.err" &
launcher=$!
for _ in $(seq 240); do [ -e "$out/kill/checkpoint-40.safetensors" ] && break; sleep 0.5; done
victim=""
for p in $(pgrep -P $launcher); do tr '\0' '\n' <"/proc/$p/environ" | grep -qx RANK=1 && victim=$p; done
killed_at=$(date +%s.%N)
[ -n "$victim" ] && kill -9 "$victim"
wait $launcher
rc=$?
ended=$(python3 -c "import time; print(f'{time.time() - $killed_at:.1f}')")
cat "$out/kill.err"
last=$(ls "$out/kill" | grep -o 'checkpoint-[0-9]*' | sort -t- -k2 -n | tail -1)
echo "killed rank 1 (pid ${victim:-none}); launcher exit status $rc after $ended s; newest checkpoint: $last"
if [ -n "$victim" ] && [ $rc -ne 0 ] && grep -q "rank 1 of 2 was killed" "$out/kill.err"; then
  echo "SUMMARY: kill under launcher passed ($ended s)"
else
  echo "SUMMARY: kill under launcher FAILED"; status=1
fi
resume_steps=$(( ${last#checkpoint-} + 40 ))
if "$pixsyn" "${train64[@]}" --gpus 2 --steps $resume_steps --resume --out "$out/kill" 2>"$out/resume.err" &&
   grep -q "resuming from step" "$out/resume.err" && [ -e "$out/kill/checkpoint-$resume_steps.safetensors" ]; then
  echo "SUMMARY: resume passed ($(cat "$out/resume.err" | head -1))"
else
  cat "$out/resume.err"; echo "SUMMARY: resume FAILED"; status=1
fi
fi

# 3. Kill rank 1 of a hand-started run (no launcher): rank 0 must stop by itself.
if part 3; then
rm -rf "$out/bare"
for r in 0 1; do
  WORLD_SIZE=2 RANK=$r LOCAL_RANK=$r MASTER_ADDR=127.0.0.1 MASTER_PORT=29611 PIXSYN_DIST_TIMEOUT=20 \
    "$pixsyn" "${train64[@]}" --steps 3000 --checkpoint-every 20 --out "$out/bare" 2>"$out/bare$r.err" &
  eval "pid$r=$!"
done
for _ in $(seq 240); do [ -e "$out/bare/checkpoint-20.safetensors" ] && break; sleep 0.5; done
killed_at=$(date +%s.%N)
kill -9 "$pid1"
wait "$pid0"
rc=$?
ended=$(python3 -c "import time; print(f'{time.time() - $killed_at:.1f}')")
cat "$out/bare0.err"
if [ $rc -ne 0 ] && python3 -c "import sys; sys.exit(0 if $ended < 60 else 1)"; then
  echo "SUMMARY: bare kill passed (rank 0 exit $rc after $ended s)"
else
  echo "SUMMARY: bare kill FAILED (rank 0 exit $rc after $ended s)"; status=1
fi
fi

# 4. Scaling: images/s of the last half of the steps (log.csv's rate is the whole batch over rank 0's step).
rate() { awk -F, -v from="$2" 'NR > 1 && $1 > from { s += $5; n++ } END { if (n) printf "%.1f", s / n }' "$1/log.csv"; }
efficiency() { python3 -c "print(f'{$2 / (2 * $1):.2f}')" 2>/dev/null; }
bench() {  # name steps args...
  local name=$1 steps=$2; shift 2
  rm -rf "$out/$name-1" "$out/$name-2" "$out/$name-2-after"
  "$pixsyn" "$@" --steps "$steps" --out "$out/$name-1" -q 2>"$out/$name-1.err" || { cat "$out/$name-1.err"; status=1; }
  "$pixsyn" "$@" --steps "$steps" --gpus 2 --out "$out/$name-2" -q 2>"$out/$name-2.err" || { cat "$out/$name-2.err"; status=1; }
  "$pixsyn" "$@" --steps "$steps" --gpus 2 --no-overlap --out "$out/$name-2-after" -q 2>"$out/$name-2-after.err" ||
    { cat "$out/$name-2-after.err"; status=1; }
  local one two after
  one=$(rate "$out/$name-1" $((steps / 2)))
  two=$(rate "$out/$name-2" $((steps / 2)))
  after=$(rate "$out/$name-2-after" $((steps / 2)))
  echo "SUMMARY: scaling $name: 1 GPU $one images/s; 2 GPUs overlapped $two images/s, efficiency" \
    "$(efficiency "$one" "$two"); 2 GPUs after the pass $after images/s, efficiency $(efficiency "$one" "$after")"
}
steps=${SCALING_STEPS:-60}
if part 4; then
bench cips256 "$steps" train --device cuda --model cips-skips --size 256 --max-channels 64 --batch 32 --data "$data"
if "$pixsyn" train --help | grep -q alis; then
  bench alis64 "${ALIS_SCALING_STEPS:-$((steps * 4))}" train --device cuda --model alis --size 64 --max-channels 64 --batch 32 --data "$data"
else
  echo "SUMMARY: scaling alis: pixsyn train has no --model alis in this build"
fi
fi
# 5. Split rendering: one start-up, the bands on one GPU, then over two (expected ~75 s in fp32 on the H200s).
if part 5; then
  if timeout 170 "$build/bench/bench_split_render_gpu" 16384 2 | tee "$out/split.log"; then
    echo "SUMMARY: split render 16384² fp32: $(grep '^| 2 |' "$out/split.log")"
  else
    echo "SUMMARY: split render FAILED"; status=1
  fi
fi
# 6. pixsyn render/panorama --gpus 2 against --gpus 1, byte for byte.
same() {  # label, then two files
  if cmp -s "$2" "$3"; then echo "SUMMARY: $1: identical bytes"; else echo "SUMMARY: $1: DIFFERENT bytes"; status=1; fi
}
if part 6; then
  "$build/tests/test_cuda" -tc='cuda cips: *' 2>&1 | tail -3 | tee "$out/cuda-cips.log"
  if grep -q "Status: SUCCESS" "$out/cuda-cips.log"; then echo "SUMMARY: cuda cips (bands included) passed"; else echo "SUMMARY: cuda cips FAILED"; status=1; fi
  # cips-skips 256 (random weights) at 4096²: 4 bands of 1024 rows, seeded noise; fp32 and bf16.
  for p in fp32 bf16; do
    cips=(render --model cips-skips --size 256 --device cuda --precision $p --height 4096 --width 4096 --noise seeded --seed 5 -q)
    for g in 1 2; do "$pixsyn" "${cips[@]}" --gpus $g --npy "$out/cips-$p-$g.npy" --png "$out/cips-$p-$g.png" || status=1; done
    same "render cips-skips 4096² $p --gpus 2 vs 1 (npy)" "$out/cips-$p-1.npy" "$out/cips-$p-2.npy"
    same "render cips-skips 4096² $p --gpus 2 vs 1 (png)" "$out/cips-$p-1.png" "$out/cips-$p-2.png"
  done
  # creps (random weights), a batch of 3 at 1536x2048 zoomed: 3 bands of 682 rows (the last 172).
  creps=(render --model creps --size 256 --device cuda --batch 3 --height 1536 --width 2048 --zoom 1.5 --seed 2 -q)
  for g in 1 2; do "$pixsyn" "${creps[@]}" --gpus $g --npy "$out/creps-$g.npy" || status=1; done
  same "render creps batch 3 1536x2048 --gpus 2 vs 1 (npy)" "$out/creps-1.npy" "$out/creps-2.npy"
  # The shipped ALIS model: 40 frames with seeded noise, a resampled anchor, wrapped in lines of 16.
  pano=(panorama --weights models/alis-landscapes-64.safetensors --device cuda --frames 40 --seed 4 --noise seeded
        --resample-anchor 3 --anchor-seed 9 --line-frames 16 -q)
  for g in 1 2; do "$pixsyn" "${pano[@]}" --gpus $g --png "$out/pano-$g.png" || status=1; done
  same "panorama alis 40 frames --gpus 2 vs 1 (png)" "$out/pano-1.png" "$out/pano-2.png"
  if "$pixsyn" "${cips[@]}" --gpus 3 --npy "$out/three.npy" 2>"$out/three.err"; then status=1; fi
  echo "SUMMARY: --gpus 3 on two GPUs: $(cat "$out/three.err")"
fi
echo "SUMMARY: exit $status ($(($(date +%s) - start)) s)"
exit $status
