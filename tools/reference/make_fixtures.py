#!/usr/bin/python3
"""Write the CIPS reference fixtures (tests/fixtures/cips/*.safetensors, tests/fixtures/ops/*).

Usage (from the repository root):  /usr/bin/python3 tools/reference/make_fixtures.py
Deterministic: every fixture uses its own fixed torch.Generator seed, one thread.

Every CIPS fixture holds the float32 state dict under the official key names plus the fixture.*
tensors (see docs/fixtures.md).  The reference output is computed in float64 from the
float32-rounded parameters and inputs, then stored as float32.
"""

import math
import os
import sys
from collections import OrderedDict

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import cips_reference as ref  # noqa: E402
from safetensors_io import ROOT, fixture_dir, save_checked  # noqa: E402

CIPS_DIR = fixture_dir("cips")
OPS_DIR = fixture_dir("ops")

MEAN_W_SAMPLES = 1024

# name, config, grid (H, W), psi, noise, batch, seed
FIXTURES = [
    dict(name="skips_native16",
         cfg=dict(variant="skips", size=16, hidden_size=32, style_dim=32, n_mlp=2,
                  channel_multiplier=2, max_channels=32, channels=None),
         grid=(16, 16), psi=1.0, noise=False, batch=2, seed=101),
    dict(name="skips_grid24x40",
         cfg=dict(variant="skips", size=16, hidden_size=32, style_dim=48, n_mlp=3,
                  channel_multiplier=2, max_channels=32, channels=None),
         grid=(24, 40), psi=0.7, noise=True, batch=2, seed=102),
    # explicit table: linears.1 identity (32->32), linears.2 skip conv 32->24, linears.3 24->16
    dict(name="residual_native16",
         cfg=dict(variant="residual", size=16, hidden_size=32, style_dim=32, n_mlp=2,
                  channel_multiplier=2, max_channels=None, channels=[32, 24, 16]),
         grid=(16, 16), psi=1.0, noise=True, batch=2, seed=103),
    # explicit table: linears.1 identity (24->24), linears.2 skip conv 24->32 (widening),
    # linears.3 skip conv 32->16
    dict(name="residual_grid20x12",
         cfg=dict(variant="residual", size=16, hidden_size=32, style_dim=64, n_mlp=3,
                  channel_multiplier=2, max_channels=None, channels=[24, 32, 16]),
         grid=(20, 12), psi=0.5, noise=False, batch=2, seed=104),
    # extra: CIPSskip with width changes inside the stack (linears.0 48->48, linears.2 48->32,
    # linears.6 32->16) and ToRGBs of different widths, L = 5
    dict(name="skips_widths32",
         cfg=dict(variant="skips", size=32, hidden_size=16, style_dim=40, n_mlp=2,
                  channel_multiplier=2, max_channels=None, channels=[48, 32, 32, 16]),
         grid=(32, 32), psi=0.8, noise=True, batch=2, seed=105),
]


def make_cips_fixture(spec):
    cfg = ref.default_config(**spec["cfg"])
    channels = ref.resolve_channels(cfg)
    B = spec["batch"]
    H, W = spec["grid"]
    psi = spec["psi"]
    gen = torch.Generator().manual_seed(spec["seed"])

    sd32 = ref.random_state_dict(cfg, gen, dtype=torch.float32)
    sd64 = OrderedDict((k, v.double()) for k, v in sd32.items())

    z32 = torch.randn(B, cfg["style_dim"], generator=gen, dtype=torch.float64).float()
    coords32 = ref.coord_grid(B, H, W, torch.float32)
    order = ref.styled_conv_order(cfg)
    noise32 = None
    if spec["noise"]:
        noise32 = [torch.randn(B, 1, H, W, generator=gen, dtype=torch.float64).float() for _ in order]

    # mean w from many z samples (double), rounded to float32
    zm = torch.randn(MEAN_W_SAMPLES, cfg["style_dim"], generator=gen, dtype=torch.float64).float()
    mean_w32 = ref.mapping(sd64, zm.double(), cfg["n_mlp"]).mean(0).float()

    w64 = ref.mapping(sd64, z32.double(), cfg["n_mlp"])
    rgb64 = ref.generate(sd64, cfg, coords32.double(), z=z32.double(), psi=psi,
                         mean_w=mean_w32.double(),
                         noise=None if noise32 is None else [n.double() for n in noise32])
    rgb32 = rgb64.float()

    # float32 run of the same reference: gives the C++ side an idea of the fp32 error budget
    rgb_f32 = ref.generate(sd32, cfg, coords32, z=z32, psi=psi, mean_w=mean_w32, noise=noise32)
    f32_err = (rgb_f32.double() - rgb64).abs().max().item()

    tensors = OrderedDict(sd32)
    tensors["fixture.z"] = z32
    tensors["fixture.w"] = w64.float()
    tensors["fixture.mean_w"] = mean_w32
    tensors["fixture.coords"] = coords32
    if noise32 is not None:
        for k, n in enumerate(noise32):
            tensors["fixture.noise.%d" % k] = n
    tensors["fixture.rgb"] = rgb32

    meta = OrderedDict(
        variant=cfg["variant"],
        size=cfg["size"],
        hidden_size=cfg["hidden_size"],
        style_dim=cfg["style_dim"],
        n_mlp=cfg["n_mlp"],
        channel_multiplier=cfg["channel_multiplier"],
        max_channels=0 if cfg["max_channels"] is None else cfg["max_channels"],
        channels=",".join(str(c) for c in channels),
        channels_source="explicit" if cfg["channels"] is not None else "table",
        height=H,
        width=W,
        truncation=repr(float(psi)),
        noise="given" if noise32 is not None else "off",
        batch=B,
        noise_order=",".join(p.rstrip(".") for p in order),
        mean_w_samples=MEAN_W_SAMPLES,
        seed=spec["seed"],
        rgb_max_abs="%.6g" % rgb64.abs().max().item(),
        rgb_f32_vs_f64_max_abs_diff="%.3g" % f32_err,
        generator="tools/reference/make_fixtures.py",
    )
    path = os.path.join(CIPS_DIR, spec["name"] + ".safetensors")
    save_checked(tensors, path, meta, torch.float32)
    assert set(sd32.keys()) == set(ref.state_dict_shapes(cfg).keys())
    return path, meta, sd32, noise32, z32, coords32, mean_w32, rgb64


def _grid_sample_manual(inp, grid, align_corners, padding):
    """Scalar-formula bilinear grid_sample used to cross-check torch (spec 4.3 generalised)."""
    N, C, Hin, Win = inp.shape
    _, Ho, Wo, _ = grid.shape
    out = torch.zeros(N, C, Ho, Wo, dtype=inp.dtype)

    def src(g, n):
        if align_corners:
            s = (g + 1.0) / 2.0 * (n - 1)
        else:
            s = ((g + 1.0) * n - 1.0) / 2.0
        if padding == "border":
            s = min(max(s, 0.0), n - 1.0)
        return s

    for b in range(N):
        for i in range(Ho):
            for j in range(Wo):
                ix = src(grid[b, i, j, 0].item(), Win)
                iy = src(grid[b, i, j, 1].item(), Hin)
                x0, y0 = math.floor(ix), math.floor(iy)
                fx, fy = ix - x0, iy - y0
                for yy, wy in ((y0, 1.0 - fy), (y0 + 1, fy)):
                    for xx, wx in ((x0, 1.0 - fx), (x0 + 1, fx)):
                        if 0 <= yy < Hin and 0 <= xx < Win:
                            out[b, :, i, j] += wy * wx * inp[b, :, yy, xx]
    return out


def make_grid_sample_fixture():
    gen = torch.Generator().manual_seed(201)
    inp = torch.randn(2, 3, 5, 7, generator=gen, dtype=torch.float64)
    grid = (torch.rand(2, 4, 6, 2, generator=gen, dtype=torch.float64) * 2.0 - 1.0) * 1.3
    tensors = OrderedDict(input=inp, grid=grid)
    worst = 0.0
    for ac in (False, True):
        for pad in ("border", "zeros"):
            o = F.grid_sample(inp, grid, mode="bilinear", padding_mode=pad, align_corners=ac)
            m = _grid_sample_manual(inp, grid, ac, pad)
            worst = max(worst, (o - m).abs().max().item())
            tensors["out.ac%d.%s" % (int(ac), pad)] = o
    assert worst < 1e-12, worst
    meta = OrderedDict(
        op="torch.nn.functional.grid_sample",
        mode="bilinear",
        torch_version=torch.__version__,
        grid_range="[-1.3, 1.3]",
        keys="out.ac{0,1}.{border,zeros}: align_corners {False,True} x padding_mode {border,zeros}",
        manual_formula_max_abs_diff="%.3g" % worst,
        seed=201,
        generator="tools/reference/make_fixtures.py",
    )
    path = os.path.join(OPS_DIR, "grid_sample.safetensors")
    save_checked(tensors, path, meta, torch.float64)
    return path, meta


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    os.makedirs(CIPS_DIR, exist_ok=True)
    os.makedirs(OPS_DIR, exist_ok=True)
    total = 0
    results = {}
    for spec in FIXTURES:
        path, meta, sd32, noise32, z32, coords32, mean_w32, rgb64 = make_cips_fixture(spec)
        results[spec["name"]] = (spec, sd32, noise32, z32, coords32, mean_w32, rgb64)
        size = os.path.getsize(path)
        total += size
        print("%s  %d bytes" % (os.path.relpath(path, ROOT), size))
        for k, v in meta.items():
            print("    %s = %s" % (k, v))

    # sanity: the given noise matters (skips_grid24x40 with the noise dropped / changed)
    spec, sd32, noise32, z32, coords32, mean_w32, rgb64 = results["skips_grid24x40"]
    cfg = ref.default_config(**spec["cfg"])
    sd64 = {k: v.double() for k, v in sd32.items()}
    o_off = ref.generate(sd64, cfg, coords32.double(), z=z32.double(), psi=spec["psi"],
                         mean_w=mean_w32.double())
    o_neg = ref.generate(sd64, cfg, coords32.double(), z=z32.double(), psi=spec["psi"],
                         mean_w=mean_w32.double(), noise=[-n.double() for n in noise32])
    d1 = (o_off - rgb64).abs().max().item()
    d2 = (o_neg - rgb64).abs().max().item()
    print("check: skips_grid24x40 rgb changes without noise (max |d| %.3g) and with negated noise "
          "(max |d| %.3g)" % (d1, d2))
    assert d1 > 1e-2 and d2 > 1e-2
    # sanity: psi matters
    spec, sd32, noise32, z32, coords32, mean_w32, rgb64 = results["residual_grid20x12"]
    cfg = ref.default_config(**spec["cfg"])
    sd64 = {k: v.double() for k, v in sd32.items()}
    o_p1 = ref.generate(sd64, cfg, coords32.double(), z=z32.double())
    d = (o_p1 - rgb64).abs().max().item()
    print("check: residual_grid20x12 rgb changes with psi 1 vs 0.5 (max |d| %.3g)" % d)
    assert d > 1e-2

    path, meta = make_grid_sample_fixture()
    size = os.path.getsize(path)
    total += size
    print("%s  %d bytes" % (os.path.relpath(path, ROOT), size))
    for k, v in meta.items():
        print("    %s = %s" % (k, v))
    print("total %d bytes" % total)


if __name__ == "__main__":
    main()
