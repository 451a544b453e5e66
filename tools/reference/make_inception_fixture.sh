#!/usr/bin/env bash
# Regenerates tests/fixtures/inception/activations.safetensors with the nsfwjs package's own runtime:
# @tensorflow/tfjs (CPU backend) and pngjs, pinned, installed into a cache folder (first argument, else
# build/inception-fixture-npm), and the package's quantized model files from `npm pack nsfwjs@4.3.0`
# (not pixsyn's decoded copy, so that the decoding is checked too). Takes about a minute.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${1:-$root/build/inception-fixture-npm}
mkdir -p "$cache"
cd "$cache"
[ -f package.json ] || echo '{"private": true}' >package.json
npm install --silent --no-audit --no-fund @tensorflow/tfjs@4.22.0 pngjs@7.0.0
[ -f nsfwjs-4.3.0.tgz ] || npm pack --silent nsfwjs@4.3.0 >/dev/null
tar -xzf nsfwjs-4.3.0.tgz package/dist/models/inception_v3
NODE_PATH="$cache/node_modules" node "$root/tools/reference/make_inception_fixture.js" \
  "$cache/package/dist/models/inception_v3" "$root/../shared/data/photos" "$root/tests/fixtures/inception/activations.safetensors"
