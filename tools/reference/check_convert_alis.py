#!/usr/bin/python3
"""Offline checks of tools/convert_official.py on ALIS network pickles.

No official checkpoint is available offline (the released LHQ-1024 pickle is 0.3 GB and not here), so
this script writes pickles with the structure of the official StyleGAN2-ADA ones (alis.md section 9;
official_pickle.py: persistent classes, EasyDict init_kwargs with the synthesis_cfg the converter reads,
legacy storages). The classes are stand-ins named after the spec's modules (training.networks and
training.layers); the converter reads none of them.

  /usr/bin/python3 tools/reference/check_convert_alis.py [--pixsyn build/tools/pixsyn]

With --pixsyn the converted files are also loaded by `pixsyn info`/`render --weights` (the program checks
every key and shape, and takes the coordinate channel counts from the stored basis). Prints PASS/FAIL
lines; exits 1 on any failure.
"""

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import alis_reference as ref  # noqa: E402
from official_pickle import (EasyDict, build_network, check_output, convert, finish, network_pickle,  # noqa: E402
                             report, stand_in_class)
from safetensors_io import load_file  # noqa: E402

NETWORKS = {n: stand_in_class("training.networks", n) for n in (
    "Generator", "MappingNetwork", "SynthesisNetwork", "SynthesisBlock", "PatchWiseSynthesisLayer", "ToRGBLayer",
    "FullyConnectedLayer", "GenInput")}
LAYERS = {n: stand_in_class("training.layers", n) for n in ("GridInput", "ModulatedCoordFuser")}


def _class_of(path):
    """The class of the module at a dotted path (alis.md sections 1 and 7)."""
    last = path[-1] if path else ""
    if not path:
        return NETWORKS["Generator"]
    if path == ["mapping"]:
        return NETWORKS["MappingNetwork"]
    if path == ["synthesis"]:
        return NETWORKS["SynthesisNetwork"]
    if len(path) == 2 and path[0] == "synthesis":
        return NETWORKS["SynthesisBlock"]
    if last in ("conv0", "conv1"):
        return NETWORKS["PatchWiseSynthesisLayer"]
    if last == "torgb":
        return NETWORKS["ToRGBLayer"]
    if path[-2:] == ["input", "input"]:
        return LAYERS["GridInput"]
    if last == "input":
        return NETWORKS["GenInput"]
    if last == "coords_fuser0":
        return LAYERS["ModulatedCoordFuser"]
    return NETWORKS["FullyConnectedLayer"]


def buffers(sd):
    leaves = ("max_shift_strength", "resample_filter", "noise_const", "basis", "w_avg")
    return {k for k in sd if k.rsplit(".", 1)[1] in leaves}


def alis_pickle(sd, init_kwargs, extra=None):
    size = max(int(k.split(".")[1][1:]) for k in sd if k.endswith(".torgb.weight"))
    return network_pickle(lambda: build_network(sd, _class_of, buffers(sd), init_kwargs), size, extra)


def official_kwargs(size, **synthesis_cfg):
    """init_kwargs as train.py with alis.yml passes them (spec 1.1): the patch-wise settings in
    synthesis_cfg, the widths in synthesis_kwargs."""
    cfg = EasyDict(patchwise=EasyDict(enabled=True, grid_size=2, w_coord_dist=4, instance_norm=False),
                   style=EasyDict(is_spatial=True), coords=EasyDict(enabled=True, logarithmic=True))
    for key, value in synthesis_cfg.items():
        cfg["patchwise"][key] = value
    return dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=size, img_channels=3,
                mapping_kwargs=EasyDict(num_layers=2),
                synthesis_kwargs=EasyDict(channel_base=16384, channel_max=512, num_fp16_res=4, conv_clamp=256),
                synthesis_cfg=cfg)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--pixsyn", help="the pixsyn program, to load the converted files")
    a = p.parse_args()
    gen = torch.Generator().manual_seed(9)
    with tempfile.TemporaryDirectory() as tmp:
        # The released layout at 16² (official widths): named "alis", every tensor and the order kept.
        official = ref.default_config(size=16)
        sd = ref.random_state_dict(official, gen)
        status, out, err = convert(tmp, "official16", alis_pickle(sd, official_kwargs(16)))
        report("official-width model converts", status == 0, err)
        if status == 0:
            back, meta = load_file(out)
            report("keys in the official order", list(back) == list(sd))
            report("tensors equal", all(torch.equal(back[k], sd[k]) for k in sd))
            report("metadata", meta["model"] == "alis" and meta["size"] == "16" and meta["patches"] == "2" and
                   meta["anchor_distance"] == "4" and '"grid_size": 2' in meta["init_kwargs"], str(meta))
            text = check_output(out)
            params = ref.parameter_count(official)
            report("--check counts", "alis, size 16 (g = 2 patches, anchor distance D = 4): %d keys, %s trainable "
                   "parameters" % (len(sd), format(params, ",")) in text, text)

        # The lowest frequency kept (the paper's 48.3M model, spec 7): still "alis", with its own basis.
        kept = ref.default_config(size=16, remove_lowest_freq=False)
        status, out_kept, err = convert(tmp, "kept16", alis_pickle(ref.random_state_dict(kept, gen),
                                                                   official_kwargs(16)))
        report("a basis with the lowest frequency converts as alis",
               status == 0 and load_file(out_kept)[1]["model"] == "alis", err)

        # The paper's "w/o coords": constant input, no fusers.
        nocoords = ref.default_config(size=16, input="constant", coordinate_fusers=False)
        status, out, err = convert(tmp, "nocoords16", alis_pickle(ref.random_state_dict(nocoords, gen),
                                                                  official_kwargs(16)))
        report("no coordinates: named alis-nocoords", status == 0 and load_file(out)[1]["model"] == "alis-nocoords",
               err)

        # Another patch count and anchor distance (from synthesis_cfg): converted, no registered name.
        small = ref.default_config(size=16, channel_base=128, channel_max=16, patches=4, anchor_distance=6)
        sd_small = ref.random_state_dict(small, gen)
        kwargs_small = official_kwargs(16, grid_size=4, w_coord_dist=6)
        kwargs_small["synthesis_kwargs"] = EasyDict(channel_base=128, channel_max=16, num_fp16_res=4)
        status, out, err = convert(tmp, "small", alis_pickle(sd_small, kwargs_small))
        meta = load_file(out)[1] if status == 0 else {}
        report("g = 4, D = 6 converts as alis-custom with its patches and anchor distance",
               status == 0 and meta["model"] == "alis-custom" and meta["patches"] == "4" and
               meta["anchor_distance"] == "6", err + str(meta))

        # Refusals, each naming the problem.
        broken = OrderedDict(sd)
        del broken["synthesis.b8.conv0.bias"]
        broken["synthesis.b16.torgb.weight"] = torch.zeros(3, 5, 1, 1)
        broken["synthesis.extra"] = torch.zeros(3)
        status, _, err = convert(tmp, "broken", alis_pickle(broken, official_kwargs(16)))
        report("a missing, a mis-shaped and an unexpected key are all listed",
               status == 1 and "missing 'synthesis.b8.conv0.bias'" in err and "unexpected 'synthesis.extra'" in err
               and "'synthesis.b16.torgb.weight' has shape (3, 5, 1, 1)" in err, err)
        status, _, err = convert(tmp, "instnorm", alis_pickle(sd, official_kwargs(16, instance_norm=True)))
        report("instance_norm on is refused", status == 1 and "instance_norm" in err, err)
        status, _, err = convert(tmp, "conditional", alis_pickle(sd, dict(official_kwargs(16), c_dim=5)))
        report("a conditional model is refused", status == 1 and "c_dim = 5" in err, err)
        status, _, err = convert(tmp, "resolution", alis_pickle(sd, dict(official_kwargs(16), img_resolution=32)))
        report("init_kwargs that disagree with the weights are refused",
               status == 1 and "img_resolution = 32 (the weights say 16)" in err, err)

        # A pickle that would run a command when loaded by pickle.load: the converter runs nothing.
        marker = os.path.join(tmp, "ran")

        class Evil:
            def __reduce__(self):
                return (os.system, ("touch " + marker,))

        status, _, err = convert(tmp, "evil", alis_pickle(sd, dict(official_kwargs(16), evil=Evil()),
                                                          extra={"augment_pipe": Evil()}))
        report("embedded code is not run", not os.path.exists(marker), err)
        report("the rest still converts (the stray objects are inert)", status == 0, err)
        status, _, err = convert(tmp, "noG", pickle.dumps({"G": 1, "D": 2}, protocol=4))
        report("a pickle without G_ema is refused", status == 1 and "G_ema" in err, err)

        if a.pixsyn:
            for path, name in ((os.path.join(tmp, "official16.safetensors"), "alis"), (out_kept, "alis"),
                               (os.path.join(tmp, "nocoords16.safetensors"), "alis-nocoords")):
                run = subprocess.run([a.pixsyn, "render", "--model", name, "--size", "16", "--weights", path,
                                      "--quiet"], capture_output=True, text=True)
                report("pixsyn loads %s" % os.path.basename(path), run.returncode == 0, run.stderr)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
