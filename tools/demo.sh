#!/usr/bin/env bash
# The main job (README): builds the pixsyn program and renders a CIPS sample grid into out/.
# No trained weights ship with pixsyn yet, so the model is a seeded random initialisation; pass a
# converted official checkpoint with WEIGHTS=path.safetensors (model cips-skips, size 256).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
cmake -S . -B build-demo -G Ninja -DCMAKE_BUILD_TYPE=Release -DPIXSYN_NATIVE_ARCH=ON -DPIXSYN_BUILD_TESTS=OFF \
  -DPIXSYN_BUILD_BENCH=OFF >/dev/null
cmake --build build-demo --target pixsyn_cli biline_fit --parallel "$(nproc)"
mkdir -p out
if [ -n "${WEIGHTS:-}" ]; then
  ./build-demo/tools/pixsyn render --model cips-skips --size 256 --weights "$WEIGHTS" --seed 1 --batch 4 \
    --truncation 0.6 --png out/cips_samples.png --npy out/cips_samples.npy
else
  ./build-demo/tools/pixsyn render --model cips-skips --size 64 --seed 1 --batch 4 --png out/cips_samples.png \
    --npy out/cips_samples.npy
fi
./build-demo/examples/biline_fit --image ../shared/data/photos/bridge.png --thickness 8 --steps 3000 --size 128 \
  --out out/biline_d8.png
echo "wrote out/cips_samples.png, out/cips_samples.npy and out/biline_d8.png"
