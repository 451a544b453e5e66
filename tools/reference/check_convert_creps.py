#!/usr/bin/python3
"""Offline checks of tools/convert_official.py on CREPS network pickles.

No official checkpoint is available offline, so this script writes pickles with the structure of the
official ones (creps.md section 8) itself: a dict {G, D, G_ema, augment_pipe, training_set_kwargs}
whose networks are torch modules pickled whole, persistent classes reduced to
torch_utils.persistence._reconstruct_persistent_obj(meta) with meta = {type, version, module_src,
class_name, state}, SynthesisInput pickled as a plain class of training.networks_creps, decoders as
torch.nn.Sequential, init_kwargs with dnnlib.util.EasyDict values, and tensors embedding legacy
storages. The modules named there are stand-ins made here (no code of the official repository).

  /usr/bin/python3 tools/reference/check_convert_creps.py [--pixsyn build/tools/pixsyn]

With --pixsyn the converted official-width file is also loaded by `pixsyn render --weights` (the
program checks every key and shape). Prints PASS/FAIL lines; exits 1 on any failure.
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

import creps_reference as ref  # noqa: E402
from official_pickle import (EasyDict, build_network, check_output, convert, finish, report,  # noqa: E402
                             stand_in_class)
from official_pickle import network_pickle as network_pickle_of  # noqa: E402
from safetensors_io import load_file  # noqa: E402

CLASSES = {n: stand_in_class("training.networks_creps", n, persistent=n != "SynthesisInput") for n in (
    "Generator", "MappingNetwork", "SynthesisNetwork", "SynthesisBlock", "SynthesisLayer", "ToResLayer",
    "FullyConnectedLayer", "SynthesisInput")}


def _class_of(path):
    """The official class of the module at a dotted path (creps.md sections 1 and 4)."""
    last = path[-1] if path else ""
    if not path:
        return CLASSES["Generator"]
    if path == ["mapping"]:
        return CLASSES["MappingNetwork"]
    if path == ["synthesis"]:
        return CLASSES["SynthesisNetwork"]
    if last == "input":
        return CLASSES["SynthesisInput"]
    if last.startswith("decoder_") and last != "decoder_img":
        return torch.nn.Sequential
    if last in ("fc0", "fc1"):
        return CLASSES["SynthesisLayer"]
    if last == "tores":
        return CLASSES["ToResLayer"]
    if len(path) == 2 and path[0] == "synthesis":
        return CLASSES["SynthesisBlock"]
    return CLASSES["FullyConnectedLayer"]


def build_generator(sd, init_kwargs):
    """Modules with the official classes and names holding the tensors of sd, in sd's order."""
    return build_network(sd, _class_of, ref.BUFFERS, init_kwargs)


def network_pickle(sd, init_kwargs, extra=None):
    return network_pickle_of(lambda: build_generator(sd, init_kwargs), sd["synthesis.b4.input.coords"].shape[1],
                             extra)


def official_kwargs(size, **changes):
    kwargs = dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=size, img_channels=3,
                  mapping_kwargs=EasyDict(num_layers=8), channel_base=65536, channel_max=1024)
    kwargs.update(changes)
    return kwargs


# ---------------------------------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--pixsyn", help="the pixsyn program, to load the converted official-width file")
    a = p.parse_args()
    gen = torch.Generator().manual_seed(8)
    with tempfile.TemporaryDirectory() as tmp:
        # A small model (channel_max 64): converted whole, tensors and order kept, init_kwargs recorded.
        small = ref.default_config(size=32, channel_max=64, channel_base=1024)
        sd = ref.random_state_dict(small, gen)
        kwargs = official_kwargs(32, channel_base=1024, channel_max=64)
        status, out, err = convert(tmp, "small", network_pickle(sd, kwargs))
        report("small model converts", status == 0, err)
        if status == 0:
            back, meta = load_file(out)
            report("keys in the official order", list(back) == list(sd))
            report("tensors equal", all(torch.equal(back[k], sd[k]) for k in sd))
            report("metadata", meta["model"] == "creps-custom" and meta["size"] == "32" and
                   '"channel_base": 1024' in meta["init_kwargs"] and '"num_layers": 8' in meta["init_kwargs"],
                   str(meta))

        # Official widths at size 16: named "creps"; 20,446,729 trainable parameters.
        official = ref.default_config(size=16)
        sd16 = ref.random_state_dict(official, gen)
        status, out16, err = convert(tmp, "official16", network_pickle(sd16, official_kwargs(16)))
        report("official-width model converts", status == 0, err)
        if status == 0:
            meta = load_file(out16)[1]
            report("named creps", meta["model"] == "creps", str(meta))
            text = check_output(out16)
            report("--check counts", "creps, size 16: 104 keys, 20,446,729 trainable parameters" in text, text)

        # Thickness 4 is the registered creps-multi-d4.
        d4 = ref.default_config(size=16, thickness=4)
        status, out, err = convert(tmp, "d4", network_pickle(ref.random_state_dict(d4, gen), official_kwargs(16)))
        report("thickness 4 named creps-multi-d4", status == 0 and load_file(out)[1]["model"] == "creps-multi-d4", err)

        # Refusals, each naming the problem.
        broken = OrderedDict(sd)
        del broken["synthesis.b8.fc0.bias"]
        broken["synthesis.b16.tores.weight"] = torch.zeros(32, 5)
        broken["synthesis.extra"] = torch.zeros(3)
        status, _, err = convert(tmp, "broken", network_pickle(broken, kwargs))
        report("a missing, a mis-shaped and an unexpected key are all listed",
               status == 1 and "missing 'synthesis.b8.fc0.bias'" in err and "unexpected 'synthesis.extra'" in err
               and "'synthesis.b16.tores.weight' has shape (32, 5)" in err, err)
        status, _, err = convert(tmp, "conditional", network_pickle(sd, dict(kwargs, c_dim=10)))
        report("a conditional model is refused", status == 1 and "c_dim = 10" in err and "conditional" in err, err)
        status, _, err = convert(tmp, "resolution", network_pickle(sd, dict(kwargs, img_resolution=64)))
        report("init_kwargs that disagree with the weights are refused",
               status == 1 and "img_resolution = 64 (the weights say 32)" in err, err)
        status, _, err = convert(tmp, "noG", pickle.dumps({"G": 1, "D": 2}, protocol=4))
        report("a pickle without G_ema is refused", status == 1 and "top-level keys: G, D" in err, err)

        # A pickle that would run a command when loaded by pickle.load: the converter runs nothing.
        marker = os.path.join(tmp, "ran")

        class Evil:
            def __reduce__(self):
                return (os.system, ("touch " + marker,))

        evil = OrderedDict(sd)
        status, _, err = convert(tmp, "evil", network_pickle(evil, dict(kwargs, evil=Evil()),
                                                             extra={"augment_pipe": Evil()}))
        report("embedded code is not run", not os.path.exists(marker), err)
        report("the rest still converts (the stray objects are inert)", status == 0, err)
        evil["synthesis.b8.fc0.bias"] = Evil()
        status, _, err = convert(tmp, "evil2", network_pickle_raw(evil, kwargs))
        report("a non-tensor entry in G_ema is refused, not run",
               status == 1 and not os.path.exists(marker) and "not floating-point tensors" in err, err)

        if a.pixsyn and os.path.exists(out16):
            run = subprocess.run([a.pixsyn, "render", "--model", "creps", "--size", "16", "--weights", out16,
                                  "--quiet"], capture_output=True, text=True)
            report("pixsyn loads the converted file", run.returncode == 0, run.stderr)
    return finish()


def network_pickle_raw(entries, init_kwargs):
    """As network_pickle, but G_ema's parameters may be any objects (to plant a non-tensor)."""
    g = build_generator(OrderedDict((k, v) for k, v in entries.items() if isinstance(v, torch.Tensor)), init_kwargs)
    for key, value in entries.items():
        if not isinstance(value, torch.Tensor):
            *path, name = key.split(".")
            g.get_submodule(".".join(path))._parameters[name] = value
    return pickle.dumps(dict(G=None, D=None, G_ema=g), protocol=4)


if __name__ == "__main__":
    sys.exit(main())
