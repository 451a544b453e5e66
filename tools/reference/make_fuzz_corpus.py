#!/usr/bin/python3
"""Write the seed corpus of the fuzz harnesses (tests/fuzz/corpus/<harness>/): a few small valid files
and edge cases for each reader, from which libFuzzer mutates.

Usage (from the repository root):  /usr/bin/python3 tools/reference/make_fuzz_corpus.py
Deterministic; every file is a few hundred bytes at most.
"""

import io
import json
import os
import struct

import numpy as np
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fuzz", "corpus")


def write(harness, name, data):
    folder = os.path.join(ROOT, harness)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def safetensors(entries, metadata=None, pad=True, trailing=b""):
    """entries: list of (name, dtype, shape, raw bytes), laid out contiguously in order."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * ((-len(text)) % 8)
    return struct.pack("<Q", len(text)) + text + data + trailing


def safetensors_corpus():
    f32 = np.array([1.5, -2, 0.25, 3], "<f4").tobytes()
    write("safetensors", "f32", safetensors([("w", "F32", [2, 2], f32)], {"format": "pt"}))
    write("safetensors", "dtypes", safetensors([
        ("a", "F64", [2], np.array([0.1, -1e300], "<f8").tobytes()),
        ("b", "F16", [1, 3], np.array([1, -2, 65504], "<f2").tobytes()),
        ("c", "BF16", [2], bytes([0x80, 0x3f, 0x00, 0xc0])),
        ("d", "I64", [], np.array([7], "<i8").tobytes()),
    ]))
    write("safetensors", "empty_and_scalar", safetensors([
        ("e", "F32", [0, 3], b""), ("s", "F32", [], np.array([4], "<f4").tobytes()),
    ]))
    write("safetensors", "no_tensors", safetensors([], {}))
    write("safetensors", "rank5_nan", safetensors([
        ("r", "F32", [1, 1, 1, 2, 1], np.array([np.nan, np.inf], "<f4").tobytes()),
    ]))
    # Edge cases that must be refused: overlap, a gap, trailing bytes, a key twice.
    write("safetensors", "overlap", struct.pack("<Q", 96) + json.dumps(
        {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
         "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}).encode().ljust(96) + f32[:8])
    write("safetensors", "trailing", safetensors([("w", "F32", [1], f32[:4])], trailing=b"\0" * 4))
    dup = b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
    write("safetensors", "duplicate", struct.pack("<Q", len(dup)) + dup + f32[:4])


def npy(array, version=None):
    out = io.BytesIO()
    if version is None:
        np.save(out, array)
    else:
        np.lib.format.write_array(out, array, version=version)
    return out.getvalue()


def npy_corpus():
    write("npy", "f4", npy(np.arange(6, dtype="<f4").reshape(2, 3)))
    write("npy", "f8_v2", npy(np.array([0.5, -1, 1e-300]), version=(2, 0)))
    write("npy", "scalar", npy(np.array(3.0, dtype="<f4")))
    write("npy", "empty", npy(np.zeros((0, 4), dtype="<f4")))
    write("npy", "rank5", npy(np.ones((1, 2, 1, 2, 1), dtype="<f8")))
    write("npy", "fortran", npy(np.asfortranarray(np.ones((2, 2), dtype="<f4"))))
    write("npy", "int", npy(np.arange(3, dtype="<i4")))


def _save(picture, fmt, **options):
    out = io.BytesIO()
    picture.save(out, fmt, **options)
    return out.getvalue()


def image(array, fmt, **options):
    return _save(Image.fromarray(array), fmt, **options)


def image_corpus():
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    write("image", "rgb.png", image(rgb, "PNG"))
    write("image", "gray.png", image(rgb[:, :, 0], "PNG"))
    write("image", "rgba.png", image(np.dstack([rgb, rgb[:, :, :1]]), "PNG"))
    write("image", "palette.png", _save(Image.fromarray(rgb).convert("P"), "PNG"))
    write("image", "gray16.png", image(rng.integers(0, 65536, (4, 3), dtype=np.uint16), "PNG"))
    write("image", "interlaced.png", _interlaced(rgb))
    write("image", "rgb.jpg", image(rgb, "JPEG", quality=90))
    write("image", "gray.jpg", image(rgb[:, :, 1], "JPEG", quality=75))
    write("image", "progressive.jpg", image(rgb, "JPEG", quality=80, progressive=True))
    write("image", "subsampled.jpg", image(np.repeat(np.repeat(rgb, 2, 0), 2, 1), "JPEG", subsampling=2))


def _interlaced(rgb):
    # Pillow writes no Adam7 PNGs; a hand-made one: IHDR with interlace 1, one IDAT of the 7 passes.
    import zlib

    height, width = rgb.shape[:2]
    passes = [(0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4), (2, 0, 4, 2), (0, 1, 2, 2), (1, 0, 2, 1)]
    raw = b""
    for y0, x0, dy, dx in passes:
        rows = rgb[y0::dy, x0::dx]
        if rows.size:
            raw += b"".join(b"\0" + row.tobytes() for row in rows)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 1)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


if __name__ == "__main__":
    safetensors_corpus()
    npy_corpus()
    image_corpus()
