#!/usr/bin/env bash
# Fetches the Keras InceptionV3 of the npm package nsfwjs@4.3.0 (MIT) and decodes it into
#   DIR/inception_v3.safetensors (float32 weights under their Keras names) and DIR/inception_v3.json
#   (the Keras topology), for pixsyn's evaluation network (metrics/inception.hpp, docs/evaluation.md).
# DIR: the first argument, else $PIXSYN_INCEPTION_DIR, else ~/.cache/pixsyn/inception.
# Idempotent: nothing is fetched when DIR already holds the decoded files of this package version. The
# package's tarball is fetched from the npm registry with node's https module (no npm: Debian's npm package
# pulls hundreds of packages; docs/reliability.md, CI time) and checked against its pinned npm integrity.
# Needs node and tar.
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
for tool in node tar; do
  command -v "$tool" >/dev/null || { echo "inception.sh: $tool is needed (apt-get install nodejs tar)" >&2; exit 1; }
done
mkdir -p "$dir"
work=$(mktemp -d "$dir/fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
tarball="$work/nsfwjs-$version.tgz"
# Downloads URL (following redirects) into memory and writes it to FILE only when its sha512 is INTEGRITY.
node -e '"use strict";
const fs = require("fs"), https = require("https"), crypto = require("crypto");
const [url, file, integrity] = process.argv.slice(1);
const fail = (message) => { console.error(`inception.sh: ${message}`); process.exit(1); };
const get = (address, redirects) => https.get(address, { timeout: 60000 }, (response) => {
  if ([301, 302, 303, 307, 308].includes(response.statusCode) && response.headers.location && redirects > 0) {
    response.resume();
    return get(new URL(response.headers.location, address), redirects - 1);
  }
  if (response.statusCode !== 200) fail(`${address}: HTTP ${response.statusCode}`);
  const chunks = [];
  response.on("data", (chunk) => chunks.push(chunk));
  response.on("error", (error) => fail(`${address}: ${error.message}`));
  response.on("end", () => {
    const bytes = Buffer.concat(chunks);
    const actual = "sha512-" + crypto.createHash("sha512").update(bytes).digest("base64");
    if (actual !== integrity) fail(`${address} has integrity ${actual}, expected ${integrity}`);
    fs.writeFileSync(file, bytes);
  });
}).on("timeout", function () { this.destroy(new Error("no data for 60 s")); })
  .on("error", (error) => fail(`${address}: ${error.message}`));
get(url, 5);' "https://registry.npmjs.org/nsfwjs/-/nsfwjs-$version.tgz" "$tarball" "$integrity"
tar -xzf "$tarball" -C "$work" package/dist/models/inception_v3
rm -f "$stamp"
node "$(dirname "$0")/inception_decode.js" "$work/package/dist/models/inception_v3" "$dir"
echo "nsfwjs@$version" >"$stamp.tmp" && mv "$stamp.tmp" "$stamp"
