#!/usr/bin/python3
"""Write the discriminator fixtures: tests/fixtures/train/discriminator_<case>.safetensors.

Usage (from the repository root):  /usr/bin/python3 tools/reference/make_discriminator_fixtures.py
Deterministic (fixed torch.Generator seeds, one thread); every tensor is float64.

Each file holds a tiny discriminator's state dict under its official keys (discriminator_reference.py),
fixture.images (B, C, S, S) and fixture.logits (B, 1) from the reference forward; its metadata holds the
configuration. Before writing, the script checks the official parameter counts of the full-size models
(cips.md §7: 28,864,129 at 256 and 26,488,833 at 64; alis.md §4: 24,001,089).
"""

import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import discriminator_reference as ref  # noqa: E402
from safetensors_io import save_file  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "train")

CASES = {
    # rosinality (CIPS): 5 input channels (RGB + coordinates), batch 4 = one stddev group.
    "rosinality16": ("rosinality", dict(size=16, channel_multiplier=2, input_channels=5, max_channels=8), 4, 1),
    # a narrower one at 32 with batch 2 (group min(2, 4) = 2).
    "rosinality32": ("rosinality", dict(size=32, channel_multiplier=2, input_channels=3, max_channels=8), 2, 2),
    # SG2-ADA resnet: widths 6 -> 12 -> 12, clamp 0.5 so that the clamps act; groups of 2, 2 stddev channels.
    "stylegan2_16": ("stylegan2", dict(size=16, img_channels=3, channel_base=96, channel_max=12, conv_clamp=0.5,
                                      mbstd_group=2, mbstd_channels=2), 4, 3),
    # no clamp, 32 -> 4 in three blocks, one group of 4.
    "stylegan2_32": ("stylegan2", dict(size=32, img_channels=3, channel_base=128, channel_max=8, conv_clamp=None,
                                      mbstd_group=4, mbstd_channels=1), 4, 4),
}


def check_official_counts():
    counts = {
        "cips 256": ref.parameter_count(ref.rosinality_shapes(dict(size=256, channel_multiplier=2, input_channels=3))),
        "cips 64": ref.parameter_count(ref.rosinality_shapes(dict(size=64, channel_multiplier=2, input_channels=3))),
        "alis 256": ref.parameter_count(ref.sg2_shapes(dict(size=256, img_channels=3, channel_base=16384,
                                                            channel_max=512, mbstd_channels=1))),
    }
    want = {"cips 256": 28864129, "cips 64": 26488833, "alis 256": 24001089}
    for k in want:
        assert counts[k] == want[k], (k, counts[k], want[k])
    print("official parameter counts:", counts)


def main():
    torch.set_num_threads(1)
    check_official_counts()
    os.makedirs(OUT_DIR, exist_ok=True)
    for name, (kind, cfg, batch, seed) in CASES.items():
        gen = torch.Generator().manual_seed(seed)
        shapes = ref.rosinality_shapes(cfg) if kind == "rosinality" else ref.sg2_shapes(cfg)
        sd = ref.random_state_dict(shapes, gen)
        channels = cfg["input_channels"] if kind == "rosinality" else cfg["img_channels"]
        images = torch.randn(batch, channels, cfg["size"], cfg["size"], generator=gen, dtype=torch.float64)
        forward = ref.rosinality_forward if kind == "rosinality" else ref.sg2_forward
        logits = forward(sd, cfg, images)
        tensors = dict(sd)
        tensors["fixture.images"] = images
        tensors["fixture.logits"] = logits
        path = os.path.join(OUT_DIR, "discriminator_%s.safetensors" % name)
        save_file(tensors, path, metadata={"kind": kind, "config": json.dumps(cfg)})
        print("%s: %d parameters, logits %s" % (path, ref.parameter_count(shapes), logits.flatten().tolist()))


if __name__ == "__main__":
    main()
