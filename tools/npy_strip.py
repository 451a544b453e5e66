#!/usr/bin/env python3
"""Lays images from `pixsyn render --npy` files side by side in one PNG, with one contrast stretch for all.

An untrained generator's output is nearly flat (a random CREPS varies by about 0.05 around its mean, where
`pixsyn render --png` maps [-1, 1] to the full range), so each channel is stretched linearly from its 0.5th to
its 99.5th percentile over every image of the strip together: a common stretch keeps the frames of a sequence
comparable. Frames smaller than the tallest are enlarged by an integer factor (nearest neighbour), so renders
of the same view at different densities show at one size. Python 3 standard library only.

usage: npy_strip.py [--gap N] [--scale K] OUT.png IN.npy [IN.npy ...]
  --gap: white pixels between frames (default 4); --scale: enlarge the tallest frame K times (default 1)
"""
import array
import ast
import struct
import sys
import zlib

def read_npy(path):
    data = open(path, "rb").read()
    if data[:6] != b"\x93NUMPY":
        sys.exit(f"error: {path} is not a .npy file")
    header_len = int.from_bytes(data[8:10], "little")
    header = ast.literal_eval(data[10:10 + header_len].decode("latin1"))
    if header["descr"] != "<f4" or header["fortran_order"] or len(header["shape"]) != 4 or header["shape"][1] != 3:
        sys.exit(f"error: {path}: expected float32 (B, 3, H, W) in C order, got {header}")
    values = array.array("f")
    values.frombytes(data[10 + header_len:])
    b, _, h, w = header["shape"]
    return [(values[i * 3 * h * w:(i + 1) * 3 * h * w], h, w) for i in range(b)]


def percentile(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def png(path, width, height, rows):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = b"".join(b"\x00" + bytes(row) for row in rows)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    args = sys.argv[1:]
    options = {"--gap": 4, "--scale": 1}
    while len(args) > 1 and args[0] in options:
        if not args[1].isdigit():
            sys.exit(f"error: {args[0]} takes a whole number, got {args[1]!r}")
        options[args[0]], args = int(args[1]), args[2:]
    gap = options["--gap"]
    if len(args) < 2:
        sys.exit(__doc__)
    frames = [frame for path in args[1:] for frame in read_npy(path)]
    height = max(h for _, h, _ in frames) * max(1, options["--scale"])
    for _, h, _ in frames:
        if height % h:
            sys.exit(f"error: frame height {h} does not divide the tallest, {height}")
    lo, hi = [], []
    for c in range(3):
        channel = sorted(v for values, h, w in frames for v in values[c * h * w:(c + 1) * h * w])
        lo.append(percentile(channel, 0.005))
        hi.append(max(percentile(channel, 0.995), lo[c] + 1e-12))
    width = sum(w * (height // h) for _, h, w in frames) + gap * (len(frames) - 1)
    rows = [bytearray(b"\xff" * 3 * width) for _ in range(height)]
    x0 = 0
    for values, h, w in frames:
        k = height // h
        for y in range(height):
            for x in range(w * k):
                for c in range(3):
                    v = (values[(c * h + y // k) * w + x // k] - lo[c]) / (hi[c] - lo[c])
                    rows[y][3 * (x0 + x) + c] = round(255 * min(1.0, max(0.0, v)))
        x0 += w * k + gap
    png(args[0], width, height, rows)


if __name__ == "__main__":
    main()
