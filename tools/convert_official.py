#!/usr/bin/python3
"""Convert an official CIPS checkpoint (.pt) to .safetensors for pixsyn.

Accepts a bare g_ema state dict (the released *_g_ema.pt files) or a training checkpoint written by
the official train.py (a dict with 'g', 'd', 'g_ema', ... entries; only 'g_ema' is kept).  Keys are
kept unchanged, every tensor is written as float32, and the file gets the metadata
  {"format": "pixsyn", "source": <input file name>, "model": "cips-skips" | "cips-res", "size": <S>}.
The key set and every shape are checked against the official layout (cips.md section 6) before
anything is written; a file that does not fit is refused with the list of problems.

  /usr/bin/python3 tools/convert_official.py ffhq256_g_ema.pt ffhq256.safetensors
  /usr/bin/python3 tools/convert_official.py --check ffhq256.safetensors   # inspect only

Needs PyTorch (and numpy, which comes with it).  See docs/convert.md.
"""

import argparse
import io
import os
import pickle
import sys
import zipfile
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference"))
import cips_reference as ref  # noqa: E402  (official layout: state_dict_shapes)
import safetensors_io  # noqa: E402

MODELS = {"skips": "cips-skips", "residual": "cips-res"}


class ConversionError(Exception):
    pass


_STORAGE_DTYPES = {"FloatStorage": torch.float32, "DoubleStorage": torch.float64, "HalfStorage": torch.float16,
                   "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
                   "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8,
                   "BoolStorage": torch.bool}


def _rebuild_tensor(storage, offset, size, stride, *unused):
    return torch.as_strided(storage, size, stride, offset)


def _rebuild_parameter(data, *unused):
    return data


class _ZipUnpickler(pickle.Unpickler):
    """Reads torch's zip checkpoint format resolving only tensors and plain containers, so that an
    untrusted file cannot run code.  (torch 1.13's weights_only loader rejects the floats in optimizer
    state and ignores a custom pickle_module, hence this small reader.)"""

    def __init__(self, archive, prefix):
        self.archive, self.prefix, self.storages = archive, prefix, {}
        super().__init__(io.BytesIO(archive.read(prefix + "data.pkl")))

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        raise pickle.UnpicklingError("refusing to load %s.%s (not a tensor or a plain container; rerun with "
                                     "--trust-pickle if you trust the file)" % (module, name))

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError("unknown persistent id %r" % (pid,))
        _, dtype, key, _, numel = pid
        if key not in self.storages:
            data = bytearray(self.archive.read("%sdata/%s" % (self.prefix, key)))
            flat = torch.frombuffer(data, dtype=dtype) if data else torch.empty(0, dtype=dtype)
            if flat.numel() != numel:
                raise pickle.UnpicklingError("storage %s holds %d values; expected %d" % (key, flat.numel(), numel))
            self.storages[key] = flat
        return self.storages[key]


def load_checkpoint(path, trust):
    if not os.path.isfile(path):
        raise ConversionError("no such file")
    try:
        if trust:
            return torch.load(path, map_location="cpu", weights_only=False)
        if not zipfile.is_zipfile(path):  # legacy (torch < 1.6) format: torch's own safe loader
            return torch.load(path, map_location="cpu", weights_only=True)
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            pkl = [n for n in names if n.endswith("/data.pkl")]
            if len(pkl) != 1:
                raise ConversionError("a zip file but not a torch checkpoint (no single */data.pkl)")
            prefix = pkl[0][:-len("data.pkl")]
            if prefix + "byteorder" in names and archive.read(prefix + "byteorder") != b"little":
                raise ConversionError("big-endian checkpoints are not supported")
            return _ZipUnpickler(archive, prefix).load()
    except ConversionError:
        raise
    except Exception as e:  # torch, pickle and zipfile raise errors of several kinds
        raise ConversionError("cannot read it as a PyTorch checkpoint: %s" % e)


def extract_state_dict(obj):
    """The g_ema state dict inside a loaded checkpoint: the object itself or its 'g_ema' entry."""
    if not isinstance(obj, dict):
        raise ConversionError("expected a state dict or a training checkpoint dict, got a %s" % type(obj).__name__)
    if "g_ema" in obj:
        sd = obj["g_ema"]
        if not isinstance(sd, dict):
            raise ConversionError("the checkpoint's 'g_ema' entry is a %s, not a state dict" % type(sd).__name__)
    elif obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        sd = obj
    else:
        raise ConversionError("neither a bare state dict (all values tensors) nor a training checkpoint with a "
                              "'g_ema' entry; top-level keys: %s" % ", ".join(map(str, list(obj)[:12])))
    bad = [str(k) for k, v in sd.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)
           or not v.is_floating_point()]
    if bad:
        raise ConversionError("entries that are not floating-point tensors with string keys: %s" % ", ".join(bad[:12]))
    if not sd:
        raise ConversionError("the state dict is empty")
    return sd


def detect(sd):
    """(variant, size) from the keys: conv1 -> CIPSskip, linears.0 without conv1 -> CIPSres."""
    if "conv1.conv.weight" in sd:
        variant = "skips"
    elif "linears.0.conv.weight" in sd:
        variant = "residual"
    else:
        raise ConversionError("not a CIPS generator: neither 'conv1.conv.weight' (CIPSskip) nor "
                              "'linears.0.conv.weight' (CIPSres) is present")
    if "emb.input" not in sd:
        raise ConversionError("no 'emb.input': the learned coordinate embedding is missing")
    shape = tuple(sd["emb.input"].shape)
    if len(shape) != 4 or shape[0] != 1 or shape[2] != shape[3]:
        raise ConversionError("'emb.input' has shape %s; expected (1, hidden, size, size)" % (shape,))
    size = shape[3]
    if size < 4 or size & (size - 1):
        raise ConversionError("'emb.input' is %dx%d; the size must be a power of two >= 4" % (size, size))
    return variant, size


def check_layout(sd, variant, size):
    """Compares keys and shapes with the official layout (widths from the file, channel multiplier 2)."""
    try:
        hidden = sd["emb.input"].shape[1]
        style_dim = sd["style.1.weight"].shape[0]
    except KeyError:
        raise ConversionError("no mapping network: 'style.1.weight' is missing")
    n_mlp = sum(1 for k in sd if k.startswith("style.") and k.endswith(".weight"))
    cfg = ref.default_config(variant=variant, size=size, hidden_size=hidden, style_dim=style_dim, n_mlp=n_mlp)
    try:
        want = ref.state_dict_shapes(cfg)
    except ValueError as e:
        raise ConversionError(str(e))
    problems = ["missing '%s' %s" % (k, s) for k, s in want.items() if k not in sd]
    problems += ["unexpected '%s'" % k for k in sd if k not in want]
    problems += ["'%s' has shape %s; expected %s" % (k, tuple(sd[k].shape), s)
                 for k, s in want.items() if k in sd and tuple(sd[k].shape) != s]
    if problems:
        raise ConversionError("does not match the official %s layout at size %d (hidden %d, style %d, %d mapping "
                              "layers):\n  %s" % (MODELS[variant], size, hidden, style_dim, n_mlp,
                                                  "\n  ".join(problems)))


def summary(sd, variant, size):
    params = sum(t.numel() for t in sd.values())
    return "%s, size %d: %d keys, %s parameters" % (MODELS[variant], size, len(sd), format(params, ","))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("input", help="official .pt checkpoint, or a .safetensors file with --check")
    p.add_argument("output", nargs="?", help="output .safetensors (default: input with .safetensors suffix)")
    p.add_argument("--check", action="store_true", help="validate and print key and parameter counts; write nothing")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow arbitrary pickled objects in the checkpoint (only for files you trust)")
    a = p.parse_args(argv)
    try:
        if a.input.endswith(".safetensors"):
            if not a.check:
                raise ConversionError("%s is already a safetensors file (use --check to inspect it)" % a.input)
            sd, meta = safetensors_io.load_file(a.input)
            print("metadata: %s" % dict(sorted(meta.items())))
        else:
            sd = extract_state_dict(load_checkpoint(a.input, a.trust_pickle))
        variant, size = detect(sd)
        check_layout(sd, variant, size)
        if a.check:
            print(summary(sd, variant, size))
            return 0
        out = a.output or os.path.splitext(a.input)[0] + ".safetensors"
        if os.path.abspath(out) == os.path.abspath(a.input):
            raise ConversionError("output would overwrite the input")
        tensors = OrderedDict((k, v.detach().to(torch.float32).contiguous()) for k, v in sd.items())
        meta = {"format": "pixsyn", "source": os.path.basename(a.input), "model": MODELS[variant], "size": size}
        safetensors_io.save_file(tensors, out, meta)
        print("wrote %s: %s" % (out, summary(tensors, variant, size)))
        return 0
    except ConversionError as e:
        print("convert_official: %s: %s" % (a.input, e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
