#!/usr/bin/env python3
"""The official CIPS training iteration on the GPU, timed as bench_train_gpu times pixsyn's, for a side-by-side
table.

  python3 bench/train_torch.py --official DIR [--out FILE] [--runs 12] [--warmup 3] [--batches 16]

DIR holds the official code (github.com/saic-mdal/CIPS: model/, tensor_transforms.py). CIPSskip at its
defaults (size 256, hidden 512, style 512, 8 mapping layers) with rosinality's Discriminator(256, channel
multiplier 2, RGB input: --img2dis), random weights. One iteration is the official train.py's (cips.md §8),
full-image mode: requires_grad toggled per phase; the D step on softplus(-D(real)) + softplus(D(G(z))); the
lazy R1 step (γ 10, every 16 iterations, loss r1/2 · penalty · 16 + 0 · D(real)[0]); the G step on
softplus(-D(G(z'))); the EMA accumulate (decay 0.5^(32/10000)); and the losses read with .item(), as its
progress bar does. Adam as train.py sets it (G lr 0.0016, β (0, 0.99^0.8); D lr 0.002·16/17, β (0, 0.99^(16/17))).

The official CUDA extension `op` (fused bias + leaky ReLU, upfirdn2d) is JIT-compiled at import and no longer
builds with current PyTorch; bench/torch_support.py stands in with PyTorch ops computing its reference
definitions (so the official step here runs the reference op paths, not the fused kernels).

Reported: ms of an iteration without R1, with R1, the amortised iteration (15 plain + 1 with R1) / 16, and
images/s. PyTorch's defaults (cuDNN convolutions may use TF32) and strict fp32 (TF32 off). --out writes
"size width batch ms" lines (width 0: the official width; defaults mode) for bench_train_gpu --official.
"""

import argparse
import copy
import os
import sys

import torch
import torch.nn.functional as F
from torch import autograd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_support  # noqa: E402  (timing, the plain-PyTorch `op` module)


def requires_grad(model, flag):
    for p in model.parameters():
        p.requires_grad = flag


def accumulate(ema, model, decay):
    ema_params, params = dict(ema.named_parameters()), dict(model.named_parameters())
    with torch.no_grad():
        for name, p in params.items():
            ema_params[name].mul_(decay).add_(p, alpha=1 - decay)


class Iteration:
    """train.py's loop body for full-image CIPSskip training."""

    def __init__(self, g, d, batch, size, coords):
        self.g, self.d, self.batch, self.coords = g, d, batch, coords
        self.g_ema = copy.deepcopy(g).eval()
        g_ratio, d_ratio = 4 / 5, 16 / 17
        self.g_optim = torch.optim.Adam(g.parameters(), lr=0.002 * g_ratio, betas=(0, 0.99 ** g_ratio))
        self.d_optim = torch.optim.Adam(d.parameters(), lr=0.002 * d_ratio, betas=(0, 0.99 ** d_ratio))
        self.real = torch.randn(batch, 3, size, size, device="cuda")

    def __call__(self, regularize):
        g, d, real = self.g, self.d, self.real
        requires_grad(g, False)
        requires_grad(d, True)
        fake, _ = g(self.coords, [torch.randn(self.batch, 512, device="cuda")])
        d_loss = F.softplus(-d(real)).mean() + F.softplus(d(fake)).mean()
        d.zero_grad()
        d_loss.backward()
        self.d_optim.step()
        r1 = torch.zeros((), device="cuda")
        if regularize:
            real.requires_grad = True
            real_pred = d(real)
            (grad,) = autograd.grad(outputs=real_pred.sum(), inputs=real, create_graph=True)
            r1 = grad.pow(2).reshape(grad.shape[0], -1).sum(1).mean()
            d.zero_grad()
            (10 / 2 * r1 * 16 + 0 * real_pred[0]).backward()
            self.d_optim.step()
            real.requires_grad = False
        requires_grad(g, True)
        requires_grad(d, False)
        fake, _ = g(self.coords, [torch.randn(self.batch, 512, device="cuda")])
        g_loss = F.softplus(-d(fake)).mean()
        g.zero_grad()
        g_loss.backward()
        self.g_optim.step()
        accumulate(self.g_ema, g, 0.5 ** (32 / 10000))
        return d_loss.item(), g_loss.item(), r1.item()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--official", required=True, help="the official CIPS code (model/, tensor_transforms.py)")
    p.add_argument("--out", help='write "size width batch ms" lines (PyTorch defaults) for bench_train_gpu --official')
    p.add_argument("--runs", type=int, default=12)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--batches", default="16", help="comma-separated batch sizes at 256²")
    p.add_argument("--defaults-only", action="store_true", help="skip the strict fp32 rows")
    args = p.parse_args()

    torch_support.install_op()
    sys.path.insert(0, os.path.abspath(args.official))
    from model import CIPSskip, Discriminator  # noqa: E402  (the official code)
    from tensor_transforms import convert_to_coord_format  # noqa: E402

    size = 256
    torch.manual_seed(1)
    g = CIPSskip(size=size, hidden_size=512, n_mlp=8, style_dim=512).cuda().train()
    d = Discriminator(size=size, channel_multiplier=2, input_size=3).cuda().train()
    count = lambda m: sum(t.numel() for t in m.parameters())  # noqa: E731
    print(f"official CIPSskip {size} ({count(g)} parameters) + Discriminator ({count(d)}), training iteration, "
          f"{torch.cuda.get_device_name()}, torch {torch.__version__}, median of {args.runs} after {args.warmup} "
          f"warm-up; op/ replaced by bench/torch_support.py (PyTorch reference ops)")
    defaults = torch.backends.cudnn.allow_tf32
    print("| batch | mode | ms plain | ms with R1 | ms/iter (R1/16) | images/s | peak MiB |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    lines = []
    for batch in (int(b) for b in args.batches.split(",")):
        coords = convert_to_coord_format(batch, size, size, device="cuda")
        step = Iteration(g, d, batch, size, coords)
        for name, tf32 in (("defaults", defaults), ("strict fp32", False))[:1 if args.defaults_only else 2]:
            torch.backends.cudnn.allow_tf32 = tf32
            torch.cuda.reset_peak_memory_stats()
            try:
                plain = torch_support.time_call(lambda: step(False), args.runs, args.warmup)
                with_r1 = torch_support.time_call(lambda: step(True), max(3, args.runs // 4), 1)
            except torch.cuda.OutOfMemoryError as e:
                print(f"| {batch} | {name} | out of memory: {str(e).splitlines()[0]} |", flush=True)
                torch.cuda.empty_cache()
                continue
            amortised = (15 * plain + with_r1) / 16
            peak = torch.cuda.max_memory_allocated() / 2 ** 20
            rate = batch * 1000 / amortised
            print(f"| {batch} | {name} | {plain:.2f} | {with_r1:.2f} | {amortised:.2f} | {rate:.1f} | {peak:.0f} |",
                  flush=True)
            if name == "defaults":
                lines.append(f"{size} 0 {batch} {amortised:.3f}\n")
        torch.backends.cudnn.allow_tf32 = defaults
        losses = step(True)
        assert all(map(lambda v: v == v and abs(v) < float("inf"), losses)), f"non-finite losses {losses}"
        del step
        torch.cuda.empty_cache()
    if args.out:
        torch_support.write_lines_atomically(args.out, lines)


if __name__ == "__main__":
    main()
