#!/usr/bin/env python3
"""The official CIPS generator on the GPU, timed as bench_cips_gpu times pixsyn, for a side-by-side table.

  python3 bench/cips_official_gpu.py --official DIR [--out FILE] [--runs 20] [--warmup 3] [--defaults-only]

DIR is a checkout of the official code (github.com/saic-mdal/CIPS). CIPSskip at its defaults (size 256,
hidden 512, style 512, 8 mapping layers), random weights (the speed does not depend on them), eval mode,
torch.no_grad, at the sizes of bench_cips_gpu; each call maps a fresh z through the mapping network and
draws fresh per-pixel noise, as the official forward does. Times are medians of CUDA-event timings after
warm-up; "extra MiB" is the peak of torch's allocator above what it held before the call.

The official code compiles a fused bias + leaky-ReLU CUDA extension (op/) when it is imported, which no
longer builds with current PyTorch; this script installs bench/torch_support.py as the module `op`, which
computes the same function with PyTorch ops, leaky_relu(x + bias, 0.2) * sqrt(2) (the extension's own
reference formula).

Two precisions: PyTorch's defaults (cuDNN may run the 1x1 convolutions on TF32 tensor cores) and strict
fp32 (TF32 off). --out writes "size batch ms" lines of the defaults, for bench_cips_gpu --official.
"""

import argparse
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_support  # noqa: E402  (timing, the plain-PyTorch `op` module)

SIZES = [(256, 1), (256, 4), (256, 16), (512, 1), (512, 4), (1024, 1)]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--official", required=True, help="checkout of github.com/saic-mdal/CIPS")
    p.add_argument("--out", help='write "size batch ms" lines (PyTorch defaults) for bench_cips_gpu --official')
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--defaults-only", action="store_true", help="skip the strict fp32 rows")
    args = p.parse_args()

    torch_support.install_op()
    sys.path.insert(0, os.path.abspath(args.official))
    from model import CIPSskip  # noqa: E402  (the official code)
    from tensor_transforms import convert_to_coord_format  # noqa: E402

    torch.manual_seed(1)
    g = CIPSskip(size=256, hidden_size=512, n_mlp=8, style_dim=512).cuda().eval()
    params = sum(t.numel() for t in g.parameters())
    print(f"official CIPSskip 256 ({params} parameters), {torch.cuda.get_device_name()}, torch {torch.__version__}, "
          f"cuDNN {torch.backends.cudnn.version()}, median of {args.runs} calls")
    defaults = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    print(f"PyTorch defaults: cudnn.allow_tf32={defaults[0]}, cuda.matmul.allow_tf32={defaults[1]}")
    print(f"{'size':>10} {'batch':>5} {'precision':>12} {'ms/call':>10} {'ms/image':>9} {'extra MiB':>10}")
    lines = []
    with torch.no_grad():
        for size, batch in SIZES:
            coords = convert_to_coord_format(batch, size, size, device="cuda")
            for name, tf32 in (("defaults", defaults[0]), ("strict fp32", False))[:1 if args.defaults_only else 2]:
                torch.backends.cudnn.allow_tf32 = tf32
                torch.cuda.synchronize()
                base = torch.cuda.memory_allocated()
                torch.cuda.reset_peak_memory_stats()
                ms = torch_support.time_call(lambda: g(coords, [torch.randn(batch, 512, device="cuda")]), args.runs,
                                             args.warmup)
                extra = (torch.cuda.max_memory_allocated() - base) / 2 ** 20
                print(f"{size:>4}x{size:<5} {batch:>5} {name:>12} {ms:10.2f} {ms / batch:9.2f} {extra:10.0f}", flush=True)
                if name == "defaults":
                    lines.append(f"{size} {batch} {ms:.3f}\n")
            torch.backends.cudnn.allow_tf32 = defaults[0]
        rgb, _ = g(coords, [torch.randn(1, 512, device="cuda")])
        assert math.isfinite(float(rgb.sum())), "the official generator's output is not finite"
    if args.out:
        torch_support.write_lines_atomically(args.out, lines)


if __name__ == "__main__":
    main()
