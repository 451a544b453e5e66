// Writes tests/fixtures/inception/activations.safetensors: what the nsfwjs package's own runtime
// (@tensorflow/tfjs on its CPU backend, loading the package's quantized model files as nsfwjs does)
// computes for three small images, as the reference for pixsyn's InceptionV3 (metrics/inception.hpp).
// Run by make_inception_fixture.sh, which installs the pinned packages. Usage:
//   node make_inception_fixture.js MODEL_DIR PHOTOS_DIR OUT_FILE
// Per image i (from the shared photos, area-downsampled so that the fixture stays small):
//   image{i}                 (3, H, W) pixel values 0..255 (F16 holds them exactly); not image2
//   image{i}/mixed5_pool     (768)  mixed5 averaged over its 35x35 positions: the FID-IncV3-mixed5 feature
//   image{i}/final_pool      (2048) average_pooling2d_10 (mixed10 pooled; not ImageNet-frozen)
//   image{i}/<layer>_mean    channel means of activation_1, mixed0, mixed2, mixed7
//   image{i}/mixed0_corner   (256, 4, 4) mixed0's top-left corner (exercises the "same" paddings)
// The input pipeline: pixels -> bilinear resize to 299x299 with half-pixel centres
// (tf.image.resizeBilinear(..., alignCorners = false, halfPixelCenters = true)) -> x / 127.5 - 1.
// Image 2 is image 1 repeated 4x in each axis (nearest), so that the resize also shrinks.
"use strict";
const fs = require("fs");
const path = require("path");
const tf = require("@tensorflow/tfjs");
const { PNG } = require("pngjs");

const [modelDir, photosDir, outFile] = process.argv.slice(2);

// Area average of a whole factor, then a crop: small, honest photographs.
function smallPhoto(file, factor, height, width) {
  const png = PNG.sync.read(fs.readFileSync(path.join(photosDir, file)));
  const out = new Float32Array(3 * height * width);
  for (let c = 0; c < 3; ++c)
    for (let y = 0; y < height; ++y)
      for (let x = 0; x < width; ++x) {
        let s = 0;
        for (let dy = 0; dy < factor; ++dy)
          for (let dx = 0; dx < factor; ++dx) s += png.data[4 * ((y * factor + dy) * png.width + x * factor + dx) + c];
        out[(c * height + y) * width + x] = Math.round(s / (factor * factor));
      }
  return { data: out, height, width };
}
function repeat(image, k) {
  const h = image.height * k, w = image.width * k;
  const out = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; ++c)
    for (let y = 0; y < h; ++y)
      for (let x = 0; x < w; ++x)
        out[(c * h + y) * w + x] = image.data[(c * image.height + Math.floor(y / k)) * image.width + Math.floor(x / k)];
  return { data: out, height: h, width: w };
}

async function main() {
  const model = require(path.resolve(modelDir, "model.min.js"));
  const group = model.weightsManifest[0];
  const shards = group.paths.map((name) => Buffer.from(require(path.resolve(modelDir, `${name}.min.js`)), "base64"));
  const all = Buffer.concat(shards);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.length);
  const net = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: model.modelTopology, weightSpecs: group.weights, weightData }));
  const names = ["activation_1", "mixed0", "mixed2", "mixed5", "mixed7", "average_pooling2d_10"];
  const probe = tf.model({ inputs: net.inputs, outputs: names.map((n) => net.getLayer(n).output) });

  const a = smallPhoto("sunset.png", 8, 48, 64);
  const b = smallPhoto("bridge.png", 4, 90, 75);
  const images = [a, b, repeat(b, 4)];
  const tensors = {};
  images.forEach((image, i) => {
    // Image 2 is not stored: the test makes it from image 1, as here.
    if (i < 2) tensors[`image${i}`] = { dtype: "F16", shape: [3, image.height, image.width], data: image.data };
    const outs = tf.tidy(() => {
      const chw = tf.tensor3d(image.data, [3, image.height, image.width]);
      const hwc = chw.transpose([1, 2, 0]).expandDims(0);
      const resized = tf.image.resizeBilinear(hwc, [299, 299], false, true);
      return probe.predict(resized.div(127.5).sub(1));
    });
    const [act1, mixed0, mixed2, mixed5, mixed7, finalPool] = outs;
    const put = (name, t, shape) => (tensors[`image${i}/${name}`] = { dtype: "F32", shape, data: t.dataSync() });
    put("mixed5_pool", mixed5.mean([0, 1, 2]), [768]);
    put("final_pool", finalPool.reshape([2048]), [2048]);
    put("activation_1_mean", act1.mean([0, 1, 2]), [32]);
    put("mixed0_mean", mixed0.mean([0, 1, 2]), [256]);
    put("mixed2_mean", mixed2.mean([0, 1, 2]), [288]);
    put("mixed7_mean", mixed7.mean([0, 1, 2]), [768]);
    put("mixed0_corner", mixed0.slice([0, 0, 0, 0], [1, 4, 4, 256]).reshape([4, 4, 256]).transpose([2, 0, 1]), [256, 4, 4]);
    console.log(`image${i} ${image.height}x${image.width}: mixed5_pool[0..3] ${Array.from(tensors[`image${i}/mixed5_pool`].data.slice(0, 3))}`);
  });
  writeSafetensors(outFile, tensors, { source: "make_inception_fixture.js", tfjs: tf.version.tfjs, backend: tf.getBackend() });
}

function toF16(value) {
  // Whole numbers 0..255 only (pixel values): exact in half precision.
  if (!Number.isInteger(value) || value < 0 || value > 2048) throw new Error(`F16 only holds small whole numbers here, got ${value}`);
  if (value === 0) return 0;
  const e = Math.floor(Math.log2(value));
  return ((e + 15) << 10) | Math.round((value / 2 ** e - 1) * 1024);
}
function writeSafetensors(file, tensors, metadata) {
  const header = { __metadata__: metadata };
  const blobs = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    let blob;
    if (t.dtype === "F16") {
      blob = Buffer.alloc(2 * t.data.length);
      t.data.forEach((v, k) => blob.writeUInt16LE(toF16(v), 2 * k));
    } else {
      blob = Buffer.from(new Float32Array(t.data).buffer);
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + blob.length] };
    offset += blob.length;
    blobs.push(blob);
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  const temp = `${file}.tmp`;
  fs.writeFileSync(temp, Buffer.concat([length, Buffer.from(json, "ascii"), ...blobs]));
  fs.renameSync(temp, file);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
