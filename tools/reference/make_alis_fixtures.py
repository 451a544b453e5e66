#!/usr/bin/python3
"""Writes tests/fixtures/alis/*.safetensors: /usr/bin/python3 tools/reference/make_alis_fixtures.py

Per fixture (docs/fixtures.md): a float32 state dict under the official keys and order, three anchor
latents, their frames' left borders (delta) and noise, and the frames computed by alis_reference.py in
float64 from the float32-rounded inputs. Deterministic: one seed per fixture, one thread.
"""

import os
import sys
from collections import OrderedDict

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import alis_reference as ref  # noqa: E402
from safetensors_io import write_model_fixtures  # noqa: E402

CONFIG_KEYS = ("size", "z_dim", "w_dim", "mapping_layers", "channel_base", "channel_max", "input_resolution",
               "patches", "anchor_distance", "input", "coordinate_fusers", "remove_lowest_freq", "fp16_resolutions")

# delta: the left border of every sample; noise: 'off', 'const' or 'given' (random maps stored as
# fixture.noise.<k>); mix: the ws row from which a second set of anchor latents takes over (per-layer
# ws); clamp: biases that drive a conv and a ToRGB past +-256.
FIXTURES = [
    dict(name="official32", seed=301, psi=0.7, delta=[0, 3, 5, 6], noise="off", mix=None, clamp=True,
         cfg=dict(size=32, z_dim=16, w_dim=16, channel_base=512, channel_max=16)),
    dict(name="patches4_input8", seed=302, psi=1.0, delta=[0, 2, 4], noise="given", mix=5, clamp=False,
         cfg=dict(size=32, z_dim=24, w_dim=24, mapping_layers=3, channel_base=256, channel_max=16,
                  input_resolution=8, patches=4, anchor_distance=2, remove_lowest_freq=False, fp16_resolutions=1)),
    dict(name="constant16", seed=303, psi=0.8, delta=[1, 10], noise="const", mix=None, clamp=False,
         cfg=dict(size=16, z_dim=16, w_dim=16, channel_base=256, channel_max=16, input="constant",
                  coordinate_fusers=False, anchor_distance=6, fp16_resolutions=0)),
]


def fire_clamps(sd, cfg):
    """Two conv output channels past +-256 after the gain, and the last ToRGB's red channel about
    the clamp (some pixels beyond +256, some not)."""
    r = cfg["size"]
    sd[f"synthesis.b{r // 2}.conv1.bias"][:2] = torch.tensor([300.0, -400.0])
    sd[f"synthesis.b{r}.torgb.bias"][:1] = torch.tensor([252.0])


def make_fixture(spec):
    torch.set_num_threads(1)
    cfg = ref.default_config(**spec["cfg"])
    gen = torch.Generator().manual_seed(spec["seed"])
    delta = spec["delta"]
    b = len(delta)
    sd32 = ref.random_state_dict(cfg, gen)
    if spec["clamp"]:
        fire_clamps(sd32, cfg)
    sd64 = OrderedDict((k, v.double()) for k, v in sd32.items())
    n = ref.num_ws(cfg)

    z32 = torch.randn(b, 3, cfg["z_dim"], generator=gen, dtype=torch.float64).float()
    w64 = ref.mapping(sd64, cfg, z32.double().reshape(3 * b, -1)).view(b, 3, -1)
    ws64 = ref.truncate(sd64, w64, spec["psi"]).unsqueeze(2).repeat(1, 1, n, 1)
    tensors = OrderedDict(sd32)
    if spec["mix"] is not None:
        z2 = torch.randn(b, 3, cfg["z_dim"], generator=gen, dtype=torch.float64).float()
        w2 = ref.truncate(sd64, ref.mapping(sd64, cfg, z2.double().reshape(3 * b, -1)), spec["psi"]).view(b, 3, -1)
        ws64[:, :, spec["mix"]:] = w2.unsqueeze(2)
        tensors["fixture.ws"] = ws64.float()
    ws = ws64.float().double()  # the C++ side gets the float32 ws

    noise = spec["noise"]
    if noise == "given":
        noise = [torch.randn(b, 1, r, r, generator=gen, dtype=torch.float64).float().double()
                 for r in ref.conv_resolutions(cfg)]
        for k, m in enumerate(noise):
            tensors[f"fixture.noise.{k}"] = m.float()
    rgb = ref.synthesis(sd64, cfg, ws, delta, noise)
    rgb_f32 = ref.synthesis(sd32, cfg, ws.float(), delta,
                            noise if isinstance(noise, str) else [m.float() for m in noise])

    tensors["fixture.z"] = z32
    tensors["fixture.w"] = w64.float()
    tensors["fixture.delta"] = torch.tensor(delta, dtype=torch.float32)
    tensors["fixture.rgb"] = rgb.float()

    meta = OrderedDict((k, cfg[k]) for k in CONFIG_KEYS)
    meta.update(truncation=repr(float(spec["psi"])), noise=spec["noise"], batch=b,
                mix="" if spec["mix"] is None else spec["mix"], keys=",".join(sd32.keys()), seed=spec["seed"],
                rgb_max_abs=",".join("%.6g" % rgb[:, c].abs().max().item() for c in range(3)),
                rgb_f32_vs_f64_max_abs_diff="%.3g" % (rgb_f32.double() - rgb).abs().max().item(),
                generator="tools/reference/make_alis_fixtures.py")
    meta = OrderedDict((k, str(v).lower() if isinstance(v, bool) else v) for k, v in meta.items())
    return tensors, meta


if __name__ == "__main__":
    write_model_fixtures("alis", FIXTURES, make_fixture)
