#!/usr/bin/env bash
# The main job (README): builds the pixsyn program and renders a CIPS sample grid into out/, and an ALIS
# panorama when models/ holds the demo ALIS. The models are the demos that pixsyn trained on landscape photos
# (models/README.md); WEIGHTS=path.safetensors also renders a converted official checkpoint (model cips-skips,
# size 256).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
cmake -S . -B build-demo -G Ninja -DCMAKE_BUILD_TYPE=Release -DPIXSYN_NATIVE_ARCH=ON -DPIXSYN_BUILD_TESTS=OFF \
  -DPIXSYN_BUILD_BENCH=OFF >/dev/null
cmake --build build-demo --target pixsyn_cli biline_fit --parallel "$(nproc)"
mkdir -p out
model=models/cips-landscapes-64.safetensors  # trained by pixsyn (models/README.md)
pixsyn=./build-demo/tools/pixsyn
if [ -n "${WEIGHTS:-}" ]; then
  $pixsyn render --model cips-skips --size 256 --weights "$WEIGHTS" --seed 1 --batch 4 \
    --truncation 0.6 --png out/cips_official_samples.png
fi
# A sample grid at the training size, the same latents at 4x the resolution (any scale), a zoom into them,
# and one wide landscape (any aspect): the model and its size come from the file's metadata.
$pixsyn render --weights $model --seed 1 --batch 16 --png out/cips_samples.png --npy out/cips_samples.npy
$pixsyn render --weights $model --seed 1 --batch 4 --height 256 --width 256 --png out/cips_samples_256.png
$pixsyn render --weights $model --seed 1 --batch 4 --height 256 --width 256 --zoom 2 --png out/cips_zoom2.png
$pixsyn render --weights $model --seed 3 --height 256 --width 1024 --png out/cips_wide.png
# The demo ALIS (models/alis-landscapes-<size>.safetensors, when there): a streaming panorama of 8 frames, its
# model, size and width from the file's metadata.
wrote_alis=""
for alis in models/alis-landscapes-*.safetensors; do
  [ -f "$alis" ] || continue
  png=out/alis_panorama_$(basename "$alis" .safetensors | sed 's/^alis-landscapes-//').png
  $pixsyn panorama --weights "$alis" --frames 8 --seed 1 --png "$png"
  wrote_alis="$wrote_alis, $png"
done
./build-demo/examples/biline_fit --image ../shared/data/photos/bridge.png --thickness 8 --steps 3000 --size 128 \
  --out out/biline_d8.png
echo "wrote out/cips_samples.png (.npy), out/cips_samples_256.png, out/cips_zoom2.png, out/cips_wide.png${wrote_alis} and out/biline_d8.png"
