#!/usr/bin/env python3
"""The official training iteration of CIPS, CREPS or ALIS, timed as bench_train_gpu times pixsyn's, for a
side-by-side table.

  python3 bench/train_torch.py --family cips|creps|alis --official DIR [--out FILE] [--runs 12] [--warmup 3]
                               [--batches 16] [--size 256] [--mode both|official|fp32] [--device cuda|cpu]

DIR holds that family's official code (one family per process: CREPS and ALIS both name their packages
`training` and `torch_utils`). Random weights, reals resident on the device (the speed depends on neither).

cips: github.com/saic-mdal/CIPS (model/, tensor_transforms.py). CIPSskip at its defaults (hidden 512, style 512,
8 mapping layers) with rosinality's Discriminator(channel multiplier 2, RGB input: --img2dis). One iteration
is the official train.py's (cips.md §8), full-image mode: requires_grad toggled per phase; the D step on
softplus(-D(real)) + softplus(D(G(z))); the lazy R1 step (γ 10, every 16 iterations, loss r1/2 · penalty · 16
+ 0 · D(real)[0]); the G step on softplus(-D(G(z'))); the EMA accumulate (decay 0.5^(32/10000)); and the
losses read with .item(), as its progress bar does. Adam as train.py sets it (G lr 0.0016, β (0, 0.99^0.8);
D lr 0.002·16/17, β (0, 0.99^(16/17))). Its CUDA extension `op` (fused bias + leaky ReLU, upfirdn2d) is
JIT-compiled at import and no longer builds with current PyTorch: bench/torch_support.py stands in with
PyTorch ops computing its reference definitions. Modes: "official" = PyTorch's defaults (cuDNN may use TF32,
as train.py leaves it), "fp32" = TF32 off.

creps (github.com/VinAIResearch/CREPS) and alis (github.com/universome/alis): StyleGAN2-ADA loops. The networks
as their training scripts build them (torch_support.creps_networks, alis_networks), the official
training/loss.py StyleGAN2Loss itself (CREPS: γ 0.0002·S²/batch as pixsyn's creps_trainer_options, no style
mixing, path length weight 2; ALIS: γ 10, style mixing 0.9, path length weight 2; both: path-length batch
shrink 2, decay 0.01), and training_loop.py's phase loop written out for one GPU and one round: phases Gmain,
Greg (every 4), Dmain, Dreg (every 16), each zero_grad(set_to_none), requires_grad_ on its module,
accumulate_gradients with gain = interval, requires_grad_ off, nan_to_num of the gradients (CREPS: through one
flat tensor, as its loop does; ALIS: per tensor), Adam step (lr ·k/(k+1), β₂^(k/(k+1)); lr 0.002 CREPS,
0.0025 ALIS); then ALIS's progressive_growing_update (max_shift_strength) and the G_ema update (lerp of the
parameters with the ramped half-life batch·10/32 kimg, buffers copied). The loop reads no loss on the host (its
statistics stay on the device until a tick ends). Latents: torch.randn of 4 · batch per iteration as the loop
draws them. The CUDA plugins (bias_act, upfirdn2d) take their reference paths and conv2d_gradfix hands over to
torch's conv2d (torch_support.import_official). Modes: "official" = as the official loop trains (fp16 in the
top 4 resolutions of G and D, cudnn.benchmark on; TF32 off for CREPS as its loop sets, PyTorch's defaults for
ALIS, whose loop leaves them), "fp32" = every block in fp32 (use_fp16 off), TF32 off, cudnn.benchmark on.

Timed per kind of iteration (median of --runs after --warmup, CUDA events, each run synchronised): CIPS plain
and with R1; the StyleGAN2-ADA families plain (Gmain, Dmain), with PL (+ Greg) and with R1 (all four phases:
iteration 0 of the cycle). ms/iter is the average over the official cycle of 16 iterations: CIPS (15 plain +
1 R1) / 16, StyleGAN2-ADA (12 plain + 3 PL + 1 PL and R1) / 16. --out writes "family size width batch
ms_official ms_fp32" lines (width 0: the official width; -1: a mode not run) for bench_train_gpu --official.
"""

import argparse
import copy
import os
import sys

import torch
import torch.nn.functional as F
from torch import autograd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_support  # noqa: E402  (timing, the official code's loading, the plain-PyTorch `op` module)

# The iterations of a cycle of 16 per kind, in the order the kinds are timed (plain first).
CYCLE = {"cips": {"plain": 15, "r1": 1}, "ada": {"plain": 12, "pl": 3, "r1": 1}}


def requires_grad(model, flag):
    for p in model.parameters():
        p.requires_grad = flag


class CipsIteration:
    """train.py's loop body for full-image CIPSskip training."""

    cycle = CYCLE["cips"]

    def __init__(self, official, size, batch, device):
        from model import CIPSskip, Discriminator  # noqa: E402  (the official code)
        from tensor_transforms import convert_to_coord_format  # noqa: E402

        torch.manual_seed(1)
        self.g = CIPSskip(size=size, hidden_size=512, n_mlp=8, style_dim=512).to(device).train()
        self.d = Discriminator(size=size, channel_multiplier=2, input_size=3).to(device).train()
        self.g_ema = copy.deepcopy(self.g).eval()
        self.batch, self.device = batch, device
        self.coords = convert_to_coord_format(batch, size, size, device=device)
        g_ratio, d_ratio = 4 / 5, 16 / 17
        self.g_optim = torch.optim.Adam(self.g.parameters(), lr=0.002 * g_ratio, betas=(0.0, 0.99 ** g_ratio))
        self.d_optim = torch.optim.Adam(self.d.parameters(), lr=0.002 * d_ratio, betas=(0.0, 0.99 ** d_ratio))
        self.real = torch.randn(batch, 3, size, size, device=device)
        self.defaults = torch.backends.cudnn.allow_tf32

    def set_mode(self, mode):
        torch.backends.cudnn.allow_tf32 = self.defaults if mode == "official" else False

    def __call__(self, kind):
        g, d, real, dev = self.g, self.d, self.real, self.device
        requires_grad(g, False)
        requires_grad(d, True)
        fake, _ = g(self.coords, [torch.randn(self.batch, 512, device=dev)])
        d_loss = F.softplus(-d(real)).mean() + F.softplus(d(fake)).mean()
        d.zero_grad()
        d_loss.backward()
        self.d_optim.step()
        r1 = torch.zeros((), device=dev)
        if kind == "r1":
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
        fake, _ = g(self.coords, [torch.randn(self.batch, 512, device=dev)])
        g_loss = F.softplus(-d(fake)).mean()
        g.zero_grad()
        g_loss.backward()
        self.g_optim.step()
        ema, decay = dict(self.g_ema.named_parameters()), 0.5 ** (32 / 10000)
        with torch.no_grad():
            for name, p in g.named_parameters():
                ema[name].mul_(decay).add_(p, alpha=1 - decay)
        return d_loss.item(), g_loss.item(), r1.item()


class AdaIteration:
    """training_loop.py's iteration (one GPU, one round) around the official StyleGAN2Loss: CREPS or ALIS."""

    cycle = CYCLE["ada"]
    start_nimg = 100_000  # past ALIS's shift ramp (1 kimg) and the EMA ramp-up: the steady state

    def __init__(self, family, official, size, batch, device):
        from torch_utils import misc  # noqa: E402  (the official code)
        from training.loss import StyleGAN2Loss  # noqa: E402

        self.family, self.misc, self.batch, self.device = family, misc, batch, device
        torch.manual_seed(1)
        if family == "creps":
            g, d = torch_support.creps_networks(size)
            lr, self.tf32 = 0.002, False
        else:
            g, d = torch_support.alis_networks(official, size)
            lr, self.tf32 = 0.0025, torch.backends.cudnn.allow_tf32
        self.g = g.train().requires_grad_(False).to(device)
        self.d = d.train().requires_grad_(False).to(device)
        self.g_ema = copy.deepcopy(self.g).eval()
        if family == "creps":
            self.loss = StyleGAN2Loss(device, self.g, self.d, r1_gamma=0.0002 * size * size / batch, style_mixing_prob=0,
                                      pl_weight=2, pl_batch_shrink=2, pl_decay=0.01)
        else:
            self.loss = StyleGAN2Loss(device, self.g.mapping, self.g.synthesis, self.d, style_mixing_prob=0.9,
                                      r1_gamma=10, pl_batch_shrink=2, pl_decay=0.01, pl_weight=2,
                                      synthesis_cfg=torch_support.alis_synthesis_cfg(official))
        self.phases = []
        for name, module, interval in (("G", self.g, 4), ("D", self.d, 16)):
            ratio = interval / (interval + 1)
            opt = torch.optim.Adam(module.parameters(), lr=lr * ratio, betas=[0.0, 0.99 ** ratio], eps=1e-8)
            self.phases += [(name + "main", module, opt, 1), (name + "reg", module, opt, interval)]
        self.real = torch.randn(batch, 3, size, size, device=device)
        self.real_c = torch.zeros(batch, 0, device=device)
        self.fp16 = {m: m.use_fp16 for net in (self.g, self.d) for m in net.modules() if hasattr(m, "use_fp16")}
        self.ema_kimg = batch * 10 / 32
        self.cur_nimg = self.start_nimg

    def set_mode(self, mode):
        official = mode == "official"
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.allow_tf32 = self.tf32 if official else False
        torch.backends.cuda.matmul.allow_tf32 = False
        for m, fp16 in self.fp16.items():
            m.use_fp16 = fp16 and official

    def clean_gradients(self, module):
        params = [p for p in module.parameters() if p.grad is not None]
        if self.family == "creps":  # StyleGAN3's loop: one flat tensor (all-reduced on several GPUs)
            if params:
                flat = torch.cat([p.grad.flatten() for p in params])
                self.misc.nan_to_num(flat, nan=0, posinf=1e5, neginf=-1e5, out=flat)
                for p, grad in zip(params, flat.split([p.numel() for p in params])):
                    p.grad = grad.reshape(p.shape)
        else:
            for p in params:
                self.misc.nan_to_num(p.grad, nan=0, posinf=1e5, neginf=-1e5, out=p.grad)

    def __call__(self, kind):
        batch_idx = {"plain": 1, "pl": 4, "r1": 0}[kind]  # which phases run: idx % interval == 0
        gen_z = torch.randn([len(self.phases) * self.batch, 512], device=self.device).split(self.batch)
        for (name, module, opt, interval), z in zip(self.phases, gen_z):
            if batch_idx % interval != 0:
                continue
            opt.zero_grad(set_to_none=True)
            module.requires_grad_(True)
            extra = dict(cur_nimg=self.cur_nimg) if self.family == "creps" else dict(sync=True)
            self.loss.accumulate_gradients(phase=name, real_img=self.real, real_c=self.real_c, gen_z=z,
                                           gen_c=self.real_c, gain=interval, **extra)
            module.requires_grad_(False)
            self.clean_gradients(module)
            opt.step()
        if self.family == "alis":
            self.g.progressive_growing_update(int(self.cur_nimg / 1e3))
        ema_nimg = min(self.ema_kimg * 1000, self.cur_nimg * 0.05)
        beta = 0.5 ** (self.batch / max(ema_nimg, 1e-8))
        for p_ema, p in zip(self.g_ema.parameters(), self.g.parameters()):
            p_ema.copy_(p.lerp(p_ema, beta))
        for b_ema, b in zip(self.g_ema.buffers(), self.g.buffers()):
            b_ema.copy_(b)
        self.cur_nimg += self.batch
        return self.loss.pl_mean.item()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--family", choices=("cips", "creps", "alis"), default="cips")
    p.add_argument("--official", required=True, help="that family's official code")
    p.add_argument("--out", help='write "family size width batch ms_official ms_fp32" lines for bench_train_gpu')
    p.add_argument("--runs", type=int, default=12)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--batches", default="16", help="comma-separated batch sizes")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--mode", choices=("both", "official", "fp32"), default="both")
    p.add_argument("--device", default="cuda", help="cpu: a quick check that the script runs (wall clock)")
    args = p.parse_args()

    if args.family == "cips":
        torch_support.install_op()
        sys.path.insert(0, os.path.abspath(args.official))
    else:
        torch_support.import_official(args.official)
    make = CipsIteration if args.family == "cips" else lambda *a: AdaIteration(args.family, *a)
    modes = ("official", "fp32") if args.mode == "both" else (args.mode,)
    cuda = args.device == "cuda"
    where = f"{torch.cuda.get_device_name()}" if cuda else "CPU"
    print(f"official {args.family} training iteration at {args.size}², {where}, torch {torch.__version__}, median of "
          f"{args.runs} after {args.warmup} warm-up; CUDA plugins replaced by reference PyTorch paths")
    print("| batch | mode | ms plain | ms with PL | ms with R1 | ms/iter (cycle of 16) | images/s | peak MiB |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    lines = []
    for batch in (int(b) for b in args.batches.split(",")):
        step = make(args.official, args.size, batch, args.device)
        ms_of = {}
        for mode in modes:
            step.set_mode(mode)
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            try:
                ms = {}
                for kind in step.cycle:
                    runs, warmup = (args.runs, args.warmup) if kind == "plain" else (max(3, args.runs // 4), 1)
                    ms[kind] = torch_support.time_call(lambda: step(kind), runs, warmup, args.device)
            except torch.cuda.OutOfMemoryError as e:
                print(f"| {batch} | {mode} | out of memory: {str(e).splitlines()[0]} |", flush=True)
                torch.cuda.empty_cache()
                continue
            ms_of[mode] = sum(n * ms[kind] for kind, n in step.cycle.items()) / 16
            peak = f"{torch.cuda.max_memory_allocated() / 2 ** 20:.0f}" if cuda else "-"
            pl = f"{ms['pl']:.2f}" if "pl" in ms else "-"
            print(f"| {batch} | {mode} | {ms['plain']:.2f} | {pl} | {ms['r1']:.2f} | {ms_of[mode]:.2f} | "
                  f"{batch * 1000 / ms_of[mode]:.1f} | {peak} |", flush=True)
        values = step("r1")
        values = values if isinstance(values, tuple) else (values,)
        assert all(v == v and abs(v) < float("inf") for v in values), f"non-finite losses {values}"
        lines.append(f"{args.family} {args.size} 0 {batch} {ms_of.get('official', -1):.3f} {ms_of.get('fp32', -1):.3f}\n")
        step = None  # its tensors go before the next batch's
        if cuda:
            torch.cuda.empty_cache()
    if args.out:
        torch_support.write_lines_atomically(args.out, lines)


if __name__ == "__main__":
    main()
