#!/usr/bin/python3
"""Writes tests/fixtures/creps/*.safetensors: /usr/bin/python3 tools/reference/make_creps_fixtures.py

Per fixture (docs/fixtures.md): a float32 state dict under the official keys and order, latents, a
grid's rows and columns and scattered points, and the images computed there by creps_reference.py in
float64 from the float32-rounded inputs (some also through the fp16 refinement). Deterministic: one
seed per fixture, one thread.
"""

import os
import sys
from collections import OrderedDict

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import creps_reference as ref  # noqa: E402
from safetensors_io import write_model_fixtures  # noqa: E402

CONFIG_KEYS = ("size", "z_dim", "w_dim", "mapping_layers", "channel_base", "channel_max", "biline_channels",
               "thickness", "features", "fusion", "refinement_blocks")

# grid: (rows, cols) as (lo, hi, n) each; points: random (y, x) pairs plus grid points; mix: the
# w index from which a second latent's w takes over (per-layer ws); clamp: large biases so that the
# +-256 clamps of fcN, tores and a refinement layer fire.
FIXTURES = [
    dict(name="official16", seed=201, psi=0.7, batch=2, points=13, mix=None, clamp=True, fp16=True,
         cfg=dict(size=16, z_dim=24, w_dim=24, mapping_layers=2, channel_base=256, channel_max=32,
                  biline_channels=16, thickness=8),
         grid=((0.0, 1.0, 12), (0.0, 1.0, 20))),
    dict(name="thick4_scaled32", seed=202, psi=1.0, batch=2, points=9, mix=5, clamp=False, fp16=False,
         cfg=dict(size=32, z_dim=32, w_dim=32, mapping_layers=3, channel_base=512, channel_max=32,
                  biline_channels=16, thickness=4),
         grid=((0.1, 0.7, 14), (-0.25, 1.25, 24))),
    dict(name="single16", seed=203, psi=0.8, batch=2, points=7, mix=None, clamp=False, fp16=False,
         cfg=dict(size=16, z_dim=16, w_dim=16, mapping_layers=2, channel_base=256, channel_max=32,
                  biline_channels=8, thickness=4, fusion="final", refinement_blocks=1),
         grid=((0.0, 1.0, 10), (0.0, 1.0, 6))),
    dict(name="dense16", seed=204, psi=0.9, batch=2, points=7, mix=None, clamp=False, fp16=False,
         cfg=dict(size=16, z_dim=16, w_dim=16, mapping_layers=2, channel_base=128, channel_max=16,
                  biline_channels=8, thickness=8, features="dense", fusion="final"),
         grid=((0.0, 1.0, 8), (0.2, 0.9, 11))),
]


def fire_clamps(sd, cfg):
    """Biases that drive a few channels past +-256 in a refinement layer (after the gain) and in a
    refinement ToRes. (Activations that large in the bi-line path would be squared by the outer
    product and overflow the fp16 refinement.)"""
    sd["synthesis.block0.fc1.bias"][:2] = torch.tensor([250.0, -2000.0])
    sd["synthesis.block1.tores.bias"][:2] = torch.tensor([300.0, -300.0])


def make_fixture(spec):
    torch.set_num_threads(1)
    cfg = ref.default_config(**spec["cfg"])
    gen = torch.Generator().manual_seed(spec["seed"])
    B = spec["batch"]
    sd32 = ref.random_state_dict(cfg, gen)
    if spec["clamp"]:
        fire_clamps(sd32, cfg)
    sd64 = OrderedDict((k, v.double()) for k, v in sd32.items())

    z32 = torch.randn(B, cfg["z_dim"], generator=gen, dtype=torch.float64).float()
    w64 = ref.mapping(sd64, cfg, z32.double())
    wt64 = ref.truncate(sd64, w64, spec["psi"])
    ws64 = wt64.unsqueeze(1).repeat(1, ref.num_ws(cfg), 1)
    tensors = OrderedDict(sd32)
    if spec["mix"] is not None:
        z2 = torch.randn(B, cfg["z_dim"], generator=gen, dtype=torch.float64).float()
        w2 = ref.truncate(sd64, ref.mapping(sd64, cfg, z2.double()), spec["psi"])
        ws64[:, spec["mix"]:] = w2.unsqueeze(1)
        tensors["fixture.ws"] = ws64.float()
    ws = ws64.float().double()  # the C++ side gets the float32 ws

    (r0, r1, h), (c0, c1, w) = spec["grid"]
    rows, cols = torch.linspace(r0, r1, h), torch.linspace(c0, c1, w)
    rgb = ref.synthesis(sd64, cfg, ws, rows, cols)
    rgb_f32 = ref.synthesis(sd32, cfg, ws.float(), rows, cols)

    # Points: random pairs, plus three grid pixels (row, column) = (0, 0), (h - 1, 1), (h // 2, w - 1).
    P = spec["points"]
    ys = torch.cat([torch.rand(P - 3, generator=gen, dtype=torch.float64).float() * 1.2 - 0.1,
                    rows[[0, h - 1, h // 2]]])
    xs = torch.cat([torch.rand(P - 3, generator=gen, dtype=torch.float64).float() * 1.2 - 0.1,
                    cols[[0, 1, w - 1]]])
    rgb_points = ref.points_by_diagonal(sd64, cfg, ws, ys, xs)

    tensors["fixture.z"] = z32
    tensors["fixture.w"] = w64.float()
    tensors["fixture.rows"] = rows
    tensors["fixture.cols"] = cols
    tensors["fixture.rgb"] = rgb.float()
    tensors["fixture.ys"] = ys
    tensors["fixture.xs"] = xs
    tensors["fixture.rgb_points"] = rgb_points.float()
    if spec["fp16"]:
        tensors["fixture.rgb_fp16"] = ref.synthesis(sd64, cfg, ws, rows, cols, refinement="fp16").float()
        # The refinement alone on given float32 inputs: features (B, P, K) and RGB (B, P, 3).
        feature = torch.randn(B, 16, cfg["biline_channels"], generator=gen, dtype=torch.float64).float() * 3
        rgb0 = torch.randn(B, 16, 3, generator=gen, dtype=torch.float64).float()
        nchw = lambda t: t.permute(0, 2, 1).unsqueeze(3)  # noqa: E731
        back = lambda t: t.squeeze(3).permute(0, 2, 1)  # noqa: E731
        w_last = ws[:, -1].float()
        tensors["fixture.refine_feature"] = feature
        tensors["fixture.refine_rgb"] = rgb0
        tensors["fixture.refine_fp16"] = back(ref.refine(sd32, cfg, nchw(feature), nchw(rgb0), w_last, "fp16"))
        tensors["fixture.refine_fp32"] = back(ref.refine(sd64, cfg, nchw(feature).double(), nchw(rgb0).double(),
                                                         w_last.double())).float()

    meta = OrderedDict((k, cfg[k]) for k in CONFIG_KEYS)
    meta.update(truncation=repr(float(spec["psi"])), batch=B, mix="" if spec["mix"] is None else spec["mix"],
                keys=",".join(sd32.keys()), seed=spec["seed"],
                rgb_max_abs="%.6g" % rgb.abs().max().item(),
                rgb_f32_vs_f64_max_abs_diff="%.3g" % (rgb_f32.double() - rgb).abs().max().item(),
                generator="tools/reference/make_creps_fixtures.py")
    return tensors, meta


if __name__ == "__main__":
    write_model_fixtures("creps", FIXTURES, make_fixture)
