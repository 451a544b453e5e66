#!/usr/bin/python3
"""The PyTorch side of bench/cips_cpu.cpp: the same measurements with tools/reference/cips_reference.py.

CIPSskip-256 with a seeded random init, float32, torch.no_grad, torch.set_num_threads(--threads);
square grids rendered in row bands of at most --tile (sample, pixel) pairs, as pixsyn's tiled
renderer does.  The reference computes the same maths as pixsyn: bilinear grid_sample of the
embedding (border, align_corners=False) and modulated 1x1 convs as one matmul per sample with the
demodulated weights.  Each configuration runs in a fresh process; peak memory is the increase of
VmHWM over the resident size before the first render (reset through /proc/self/clear_refs).

  /usr/bin/python3 bench/cips_torch.py [--sizes 64,128,256] [--batches 1,4] [--runs 5] [--warmup 1]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "reference"))
import cips_reference as ref  # noqa: E402


def status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def macs_per_pixel(sd):
    """Every 1x1 conv weight (.., out, in, 1, 1) costs out * in multiply-adds per pixel."""
    return sum(t.numel() for k, t in sd.items() if k.endswith("conv.weight"))


def render(sd, cfg, w, size, tile):
    batch = w.shape[0]
    rows = max(1, tile // (batch * size))
    coords = ref.coord_grid(batch, size, size)
    return torch.cat([ref.synthesis(sd, cfg, coords[:, :, r:r + rows], w) for r in range(0, size, rows)], dim=2)


def run_one(size, batch, runs, warmup, tile):
    cfg = ref.default_config()
    sd = ref.random_state_dict(cfg, torch.Generator().manual_seed(1))
    z = torch.randn(batch, cfg["style_dim"], generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        w = ref.mapping(sd, z, cfg["n_mlp"])
        reset = reset_peak()
        base = status_kib("VmRSS" if reset else "VmHWM")
        for _ in range(warmup):
            render(sd, cfg, w, size, tile)
        ms = []
        for _ in range(runs):
            t0 = time.perf_counter()
            render(sd, cfg, w, size, tile)
            ms.append((time.perf_counter() - t0) * 1e3)
    per_image = statistics.median(ms) / batch
    gflops = 2.0 * macs_per_pixel(sd) * size * size / (per_image * 1e6)
    return size, batch, per_image, gflops, base / 1024.0, (status_kib("VmHWM") - base) / 1024.0, int(reset)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="64,128,256")
    p.add_argument("--batches", default="1,4")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--tile", type=int, default=1 << 16)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--one", type=int, nargs=2, metavar=("SIZE", "BATCH"), help=argparse.SUPPRESS)
    a = p.parse_args()
    torch.set_num_threads(a.threads)

    if a.one:
        print("RESULT %d %d %.6f %.6f %.3f %.3f %d" % run_one(a.one[0], a.one[1], a.runs, a.warmup, a.tile))
        return 0

    macs = macs_per_pixel(ref.random_state_dict(ref.default_config(), torch.Generator().manual_seed(1)))
    print("PyTorch %s, CIPSskip-256 reference: %d MAC per pixel = %.3f MFLOP" % (torch.__version__, macs, 2e-6 * macs))
    print("torch threads: %d; tile: %d (sample, pixel) pairs; median of %d runs after %d warm-up\n"
          % (a.threads, a.tile, a.runs, a.warmup))
    print("| size   | batch | ms per image | GFLOP/s    | model MiB  | peak +MiB      |")
    print("|--------|-------|--------------|------------|------------|----------------|")
    for size in map(int, a.sizes.split(",")):
        for batch in map(int, a.batches.split(",")):
            cmd = [sys.executable, os.path.abspath(__file__), "--one", str(size), str(batch), "--runs", str(a.runs),
                   "--warmup", str(a.warmup), "--tile", str(a.tile), "--threads", str(a.threads)]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            f = out[out.index("RESULT"):].split()[1:]
            print("| %5d² | %5d | %12.1f | %10.2f | %10.0f | %14.0f |"
                  % (int(f[0]), int(f[1]), float(f[2]), float(f[3]), float(f[4]), float(f[5])), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
