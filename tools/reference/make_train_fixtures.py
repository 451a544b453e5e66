#!/usr/bin/python3
"""Write the training-step fixture: tests/fixtures/train/cips_step.safetensors.

Usage (from the repository root):  /usr/bin/python3 tools/reference/make_train_fixtures.py
Deterministic (fixed torch.Generator seed, one thread); every tensor is float64.

Two iterations of CIPS's training loop (cips.md §8, rosinality's train.py) on a tiny CIPSskip
(cips_reference.py, training-mode forward: the raw embedding table) and rosinality's discriminator
(discriminator_reference.py), written here from the spec with torch.autograd and torch.optim.Adam:

  D step: softplus(-D(real)).mean() + softplus(D(G(z_d))).mean(), G frozen; Adam(lr 0.002·16/17,
          betas (0, 0.99^(16/17))).
  R1 step (iteration 0 only, i % 16 == 0): γ/2 · mean_b Σ (∂ΣD(real)/∂real)² · 16 with γ = 10, the
          input gradient taken with create_graph=True.
  G step: softplus(-D(G(z_g))).mean(); Adam(lr 0.002·4/5, betas (0, 0.99^(4/5))).
  EMA:    g_ema ← decay · g_ema + (1 − decay) · g, decay = 0.5^(32/10000); g_ema starts as a copy of G.

Keys: g.<key>, d.<key> (initial weights); fixture.<i>.{reals, z_d, z_g} and fixture.<i>.noise_{d,g}.<k>
(B, 1, S, S) per StyledConv in forward order; fixture.<i>.{loss_d, loss_g, r1} (scalars as (1,)); after.g.<key>,
after.d.<key>, after.g_ema.<key> (the weights after both iterations).
"""

import math
import os
import sys
from collections import OrderedDict

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import cips_reference as cref  # noqa: E402
import discriminator_reference as dref  # noqa: E402
from safetensors_io import save_file  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "train", "cips_step.safetensors")
D64 = torch.float64

G_CFG = cref.default_config(variant="skips", size=8, hidden_size=8, style_dim=8, n_mlp=2, channels=[8, 8])
D_CFG = dict(size=8, channel_multiplier=2, input_channels=3, max_channels=8)
BATCH = 2
ITERATIONS = 2
R1_GAMMA = 10.0
D_REG_EVERY = 16
G_REG_EVERY = 4
LR = 0.002
EMA_DECAY = 0.5 ** (32 / (10 * 1000))


def coords(batch, size):
    xs = torch.linspace(-1.0, 1.0, size, dtype=D64)
    gx = xs.view(1, size).expand(size, size)
    gy = xs.view(size, 1).expand(size, size)
    return torch.stack([gx, gy], 0).unsqueeze(0).expand(batch, 2, size, size).contiguous()


def generate(g, z, noise):
    w = cref.mapping(g, z, G_CFG["n_mlp"])
    return cref.synthesis(g, G_CFG, coords(z.shape[0], G_CFG["size"]), w, noise, train_mode=True)


def main():
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(10)
    g0 = cref.random_state_dict(G_CFG, gen, dtype=D64)
    d0 = dref.random_state_dict(dref.rosinality_shapes(D_CFG), gen)
    g = OrderedDict((k, v.clone().requires_grad_(True)) for k, v in g0.items())
    d = OrderedDict((k, v.clone().requires_grad_(not k.endswith("kernel"))) for k, v in d0.items())
    g_ema = OrderedDict((k, v.clone()) for k, v in g0.items())
    d_params = [v for k, v in d.items() if v.requires_grad]

    def g_ratio(k):
        return k / (k + 1)

    g_opt = torch.optim.Adam(list(g.values()), lr=LR * g_ratio(G_REG_EVERY),
                             betas=(0.0, 0.99 ** g_ratio(G_REG_EVERY)))
    d_opt = torch.optim.Adam(d_params, lr=LR * g_ratio(D_REG_EVERY), betas=(0.0, 0.99 ** g_ratio(D_REG_EVERY)))
    discriminator = lambda x: dref.rosinality_forward(d, D_CFG, x)  # noqa: E731

    out = OrderedDict()
    for k, v in g0.items():
        out["g." + k] = v
    for k, v in d0.items():
        out["d." + k] = v
    n_noise = len(cref.styled_conv_order(G_CFG))
    size = G_CFG["size"]
    for i in range(ITERATIONS):
        reals = torch.randn(BATCH, 3, size, size, generator=gen, dtype=D64)
        z_d = torch.randn(BATCH, G_CFG["style_dim"], generator=gen, dtype=D64)
        z_g = torch.randn(BATCH, G_CFG["style_dim"], generator=gen, dtype=D64)
        noise_d = [torch.randn(BATCH, 1, size, size, generator=gen, dtype=D64) for _ in range(n_noise)]
        noise_g = [torch.randn(BATCH, 1, size, size, generator=gen, dtype=D64) for _ in range(n_noise)]
        p = "fixture.%d." % i
        out[p + "reals"], out[p + "z_d"], out[p + "z_g"] = reals, z_d, z_g
        for k in range(n_noise):
            out[p + "noise_d.%d" % k] = noise_d[k]
            out[p + "noise_g.%d" % k] = noise_g[k]

        with torch.no_grad():
            fake = generate(g, z_d, noise_d)
        loss_d = F.softplus(-discriminator(reals)).mean() + F.softplus(discriminator(fake)).mean()
        d_opt.zero_grad()
        loss_d.backward()
        d_opt.step()

        r1 = float("nan")
        if i % D_REG_EVERY == 0:
            real = reals.clone().requires_grad_(True)
            pred = discriminator(real)
            (grad,) = torch.autograd.grad(pred.sum(), real, create_graph=True)
            penalty = grad.pow(2).reshape(BATCH, -1).sum(1).mean()
            d_opt.zero_grad()
            (R1_GAMMA / 2 * penalty * D_REG_EVERY + 0 * pred[0]).sum().backward()
            d_opt.step()
            r1 = penalty.item()

        loss_g = F.softplus(-discriminator(generate(g, z_g, noise_g))).mean()
        g_opt.zero_grad()
        loss_g.backward()
        g_opt.step()

        with torch.no_grad():
            for k in g_ema:
                g_ema[k].mul_(EMA_DECAY).add_(g[k], alpha=1 - EMA_DECAY)

        out[p + "loss_d"] = torch.tensor([loss_d.item()], dtype=D64)
        out[p + "loss_g"] = torch.tensor([loss_g.item()], dtype=D64)
        out[p + "r1"] = torch.tensor([r1], dtype=D64)
        print("iteration %d: loss_d %.6f loss_g %.6f r1 %.6f" % (i, loss_d.item(), loss_g.item(), r1))

    for k, v in g.items():
        out["after.g." + k] = v.detach()
    for k, v in d.items():
        out["after.d." + k] = v.detach()
    for k, v in g_ema.items():
        out["after.g_ema." + k] = v
    moved = max((out["after.g." + k] - g0[k]).abs().max().item() for k in g0)
    print("largest G parameter change: %.3g" % moved)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    save_file(out, OUT, metadata={"iterations": str(ITERATIONS), "batch": str(BATCH)})
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
