// Decodes the Keras InceptionV3 of nsfwjs (dist/models/inception_v3/ of the unpacked npm package) into
//   inception_v3.safetensors: every weight as float32 under its Keras name ("conv2d_1/kernel" ...), in
//                             Keras layouts (a Conv2D kernel is (kh, kw, in, out));
//   inception_v3.json:        the Keras model topology (layers and their inbound nodes).
// The package ships the weights uint8-quantized, as base64 strings inside UMD modules (.min.js); a
// value is q * scale + min per tensor, as TF.js dequantizes them. Usage: node inception_decode.js
// MODEL_DIR OUT_DIR. Both files are written to temporary names and renamed, so a failed run leaves
// no partial output.
"use strict";
const fs = require("fs");
const path = require("path");

const [modelDir, outDir] = process.argv.slice(2);
if (!modelDir || !outDir) {
  console.error("usage: node inception_decode.js MODEL_DIR OUT_DIR");
  process.exit(2);
}
const model = require(path.resolve(modelDir, "model.min.js"));
if (!model.modelTopology || !Array.isArray(model.weightsManifest) || model.weightsManifest.length !== 1) {
  throw new Error(`${modelDir}/model.min.js: expected a TF.js layers model with one weights group`);
}
const group = model.weightsManifest[0];
const shards = group.paths.map((name) => {
  const text = require(path.resolve(modelDir, `${name}.min.js`));
  if (typeof text !== "string") throw new Error(`${name}.min.js does not export a base64 string`);
  return Buffer.from(text, "base64");
});
const bytes = Buffer.concat(shards);

const header = { __metadata__: { source: "nsfwjs@4.3.0 dist/models/inception_v3", dequantized: "q * scale + min" } };
const parts = [];
let offset = 0; // into the quantized bytes
let dataOffset = 0; // into the float32 output
for (const spec of group.weights) {
  const q = spec.quantization;
  if (spec.dtype !== "float32" || !q || q.dtype !== "uint8") {
    throw new Error(`${spec.name}: expected uint8-quantized float32, got ${JSON.stringify(spec)}`);
  }
  const count = spec.shape.reduce((a, b) => a * b, 1);
  if (offset + count > bytes.length) throw new Error(`${spec.name}: the shards end before this weight`);
  const values = new Float32Array(count);
  for (let i = 0; i < count; ++i) values[i] = bytes[offset + i] * q.scale + q.min;
  offset += count;
  header[spec.name] = { dtype: "F32", shape: spec.shape, data_offsets: [dataOffset, dataOffset + 4 * count] };
  dataOffset += 4 * count;
  parts.push(Buffer.from(values.buffer));
}
if (offset !== bytes.length) throw new Error(`the shards hold ${bytes.length} bytes, the manifest ${offset}`);

// safetensors: u64 little-endian header length, the JSON header padded with spaces to 8 bytes, the data.
let json = JSON.stringify(header);
json += " ".repeat((8 - (json.length % 8)) % 8);
const length = Buffer.alloc(8);
length.writeBigUInt64LE(BigInt(json.length));

function writeAtomic(file, buffers) {
  const temp = `${file}.tmp${process.pid}`;
  const fd = fs.openSync(temp, "w");
  for (const b of buffers) fs.writeSync(fd, b);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(temp, file);
}
fs.mkdirSync(outDir, { recursive: true });
writeAtomic(path.join(outDir, "inception_v3.safetensors"), [length, Buffer.from(json, "ascii"), ...parts]);
writeAtomic(path.join(outDir, "inception_v3.json"), [Buffer.from(JSON.stringify(model.modelTopology))]);
console.log(`decoded ${group.weights.length} tensors (${dataOffset / 4} values) into ${outDir}`);
