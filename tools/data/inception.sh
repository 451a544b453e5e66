#!/usr/bin/env bash
# Fetches the Keras InceptionV3 of the npm package nsfwjs@4.3.0 (MIT) and decodes it into
#   DIR/inception_v3.safetensors (float32 weights under their Keras names) and DIR/inception_v3.json
#   (the Keras topology), for pixsyn's evaluation network (metrics/inception.hpp, docs/evaluation.md).
# DIR: the first argument, else $PIXSYN_INCEPTION_DIR, else ~/.cache/pixsyn/inception.
# Idempotent: nothing is fetched when DIR already holds the decoded files of this package version. The
# package's tarball is checked against its pinned npm integrity. Needs npm and node.
set -euo pipefail
version=4.3.0
integrity='sha512-WTKDte0vp1X97N1h34P79G/hG+sVT3+TnDz9di1WseIJR93v11E4viNX7Vg9WsO6HYoR772Nzq2iM8jo3XBZ+g=='
dir=${1:-${PIXSYN_INCEPTION_DIR:-$HOME/.cache/pixsyn/inception}}
stamp="$dir/inception_v3.stamp"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "nsfwjs@$version" ] && [ -f "$dir/inception_v3.safetensors" ] &&
  [ -f "$dir/inception_v3.json" ]; then
  echo "inception: $dir is up to date (nsfwjs@$version)"
  exit 0
fi
for tool in npm node tar; do
  command -v "$tool" >/dev/null || { echo "inception.sh: $tool is needed (apt-get install nodejs npm)" >&2; exit 1; }
done
mkdir -p "$dir"
work=$(mktemp -d "$dir/fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "nsfwjs@$version" >/dev/null)
tarball="$work/nsfwjs-$version.tgz"
actual=$(node -e 'const f = require("fs"), c = require("crypto");
  console.log("sha512-" + c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"));' "$tarball")
if [ "$actual" != "$integrity" ]; then
  echo "inception.sh: nsfwjs-$version.tgz has integrity $actual, expected $integrity" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$work" package/dist/models/inception_v3
rm -f "$stamp"
node "$(dirname "$0")/inception_decode.js" "$work/package/dist/models/inception_v3" "$dir"
echo "nsfwjs@$version" >"$stamp.tmp" && mv "$stamp.tmp" "$stamp"
