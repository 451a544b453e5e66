#!/usr/bin/python3
"""Convert an official CIPS checkpoint (.pt) or CREPS or ALIS network pickle (.pkl) to .safetensors for pixsyn.

CIPS: a bare g_ema state dict (the released *_g_ema.pt files) or a training checkpoint written by the
official train.py (a dict with 'g', 'd', 'g_ema', ... entries; only 'g_ema' is kept).
CREPS: a StyleGAN3-format network pickle (a dict with 'G', 'D', 'G_ema', ...; only 'G_ema' is kept):
its state dict, flattened from the pickled modules without running the source code they embed, and
its constructor arguments (init_kwargs).
ALIS: a StyleGAN2-ADA-format network pickle (the same container; only 'G_ema' is kept): its state dict
and init_kwargs, whose synthesis_cfg holds what the weights do not (the patch count and the anchor
distance), written to the metadata as "patches" and "anchor_distance".
Keys are kept unchanged, every tensor is written as float32, and the file gets the metadata
  {"format": "pixsyn", "source": <input file name>, "model": <pixsyn model name>, "size": <S>}
(CREPS and ALIS add "init_kwargs", as JSON).  The key set and every shape are checked against the
official layout (cips.md section 6, creps.md section 4, alis.md section 7) before anything is
written; a file that does not fit is refused with the list of problems.

  /usr/bin/python3 tools/convert_official.py ffhq256_g_ema.pt ffhq256.safetensors
  /usr/bin/python3 tools/convert_official.py creps-ffhq-512x512.pkl creps512.safetensors
  /usr/bin/python3 tools/convert_official.py lhq1024-snapshot.pkl alis1024.safetensors
  /usr/bin/python3 tools/convert_official.py --check ffhq256.safetensors   # inspect only

Needs PyTorch (and numpy, which comes with it).  See docs/convert.md.
"""

import argparse
import io
import json
import os
import pickle
import sys
import zipfile
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference"))
import alis_reference as alis_ref  # noqa: E402
import cips_reference as ref  # noqa: E402  (official layout: state_dict_shapes)
import creps_reference as creps_ref  # noqa: E402
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


class _SafeUnpickler(pickle.Unpickler):
    """Resolves only tensors, storages and plain containers, so that an untrusted file cannot run code.
    (torch 1.13's weights_only loader rejects the floats in optimizer state and ignores a custom
    pickle_module, hence these small readers.)"""

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch._utils" and name in ("_rebuild_parameter", "_rebuild_parameter_with_state"):
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        return self.unknown_class(module, name)

    def unknown_class(self, module, name):
        raise pickle.UnpicklingError("refusing to load %s.%s (not a tensor or a plain container; rerun with "
                                     "--trust-pickle if you trust the file)" % (module, name))


class _ZipUnpickler(_SafeUnpickler):
    """torch's zip checkpoint format: data.pkl with storages in data/<key>."""

    def __init__(self, archive, prefix):
        self.archive, self.prefix, self.storages = archive, prefix, {}
        super().__init__(io.BytesIO(archive.read(prefix + "data.pkl")))

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


# The legacy (pre-zip) torch.save format, which pickled tensors embed for their storages
# (torch.storage._load_from_bytes): pickles of the magic number, the protocol version, the system
# info and the storage (a persistent id), a pickle of the storage keys, then per storage an 8-byte
# little-endian element count and the raw data.
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class _LegacyStorageUnpickler(_SafeUnpickler):
    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage" and isinstance(pid[1], torch.dtype)):
            raise pickle.UnpicklingError("unknown persistent id %r in an embedded storage" % (pid,))
        if pid[5] is not None:
            raise pickle.UnpicklingError("embedded storage views are not supported")
        return pid


def _storage_from_bytes(data):
    f = io.BytesIO(data)
    header = [_LegacyStorageUnpickler(f).load() for _ in range(4)]
    magic, _, info, pid = header
    if magic != _LEGACY_MAGIC or not isinstance(info, dict) or not isinstance(pid, tuple):
        raise pickle.UnpicklingError("an embedded storage is not in torch's legacy format")
    if not info.get("little_endian", False):
        raise pickle.UnpicklingError("big-endian storages are not supported")
    keys = _LegacyStorageUnpickler(f).load()
    if keys != [pid[2]]:
        raise pickle.UnpicklingError("an embedded storage lists keys %r; expected [%r]" % (keys, pid[2]))
    dtype, numel = pid[1], pid[4]
    count = int.from_bytes(f.read(8), "little")
    itemsize = torch.empty(0, dtype=dtype).element_size()
    raw = bytearray(f.read(count * itemsize))
    if count != numel or len(raw) != count * itemsize:
        raise pickle.UnpicklingError("an embedded storage holds %d bytes; expected %d values" % (len(raw), numel))
    return torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)


class _Stub:
    """An inert stand-in for a pickled object of a class this reader does not resolve: it records the
    class name, the arguments and the state, and runs nothing."""

    qualname = "?"

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        obj.args, obj.state = args, None
        return obj

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        self.state = state


class _PersistentObject(_Stub):
    """torch_utils.persistence's reconstruction of a decorated class: meta holds class_name, the
    object's state and the source code of its module, which is never executed here."""

    def __new__(cls, meta):
        obj = super().__new__(cls)
        if not isinstance(meta, dict):
            raise pickle.UnpicklingError("a persistent object without its meta dict")
        obj.qualname = "%s (persistent)" % meta.get("class_name")
        obj.state = meta.get("state")
        return obj


class _EasyDict(dict):
    """dnnlib.util.EasyDict: a dict (its attribute access is not needed here)."""


def _reconstructor(cls, base, state):  # copyreg._reconstructor (protocol 0/1 pickles)
    return cls.__new__(cls) if isinstance(cls, type) and issubclass(cls, _Stub) else _Stub()


class _NetworkUnpickler(_SafeUnpickler):
    """A StyleGAN3-format network pickle (CREPS's .pkl files): modules are pickled whole, persistent
    classes carry their own source code, and tensors embed legacy storages. Every class other than
    tensors, storages and plain containers becomes an inert _Stub: nothing in the file is executed."""

    def __init__(self, f):
        super().__init__(f)
        self.stubs = {}

    def find_class(self, module, name):
        if module == "torch.storage" and name == "_load_from_bytes":
            return _storage_from_bytes
        if module == "torch_utils.persistence" and name == "_reconstruct_persistent_obj":
            return _PersistentObject
        if module == "dnnlib.util" and name == "EasyDict":
            return _EasyDict
        if module == "copyreg" and name == "_reconstructor":
            return _reconstructor
        if module == "builtins" and name in ("set", "frozenset"):
            return {"set": set, "frozenset": frozenset}[name]
        return super().find_class(module, name)

    def unknown_class(self, module, name):
        key = "%s.%s" % (module, name)
        if key not in self.stubs:
            self.stubs[key] = type(str(name), (_Stub,), {"qualname": key})
        return self.stubs[key]

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("unexpected persistent id %r in a network pickle" % (pid,))


def load_checkpoint(path, trust):
    """The object in a CIPS .pt file (zip or legacy torch format) or a StyleGAN3-format .pkl."""
    if not os.path.isfile(path):
        raise ConversionError("no such file")
    try:
        if zipfile.is_zipfile(path):
            if trust:
                return torch.load(path, map_location="cpu", weights_only=False)
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
                pkl = [n for n in names if n.endswith("/data.pkl")]
                if len(pkl) != 1:
                    raise ConversionError("a zip file but not a torch checkpoint (no single */data.pkl)")
                prefix = pkl[0][:-len("data.pkl")]
                if prefix + "byteorder" in names and archive.read(prefix + "byteorder") != b"little":
                    raise ConversionError("big-endian checkpoints are not supported")
                return _ZipUnpickler(archive, prefix).load()
        # A plain pickle: a network pickle, or the legacy (torch < 1.6) format, which starts with its
        # magic number and goes to torch's own safe loader.
        with open(path, "rb") as f:
            obj = pickle.load(f) if trust else _NetworkUnpickler(f).load()
        if obj == _LEGACY_MAGIC:
            return torch.load(path, map_location="cpu", weights_only=not trust)
        return obj
    except ConversionError:
        raise
    except Exception as e:  # torch, pickle and zipfile raise errors of several kinds
        raise ConversionError("cannot read it as a PyTorch checkpoint or network pickle: %s" % e)


def _check_state_dict(sd):
    bad = [str(k) for k, v in sd.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)
           or not v.is_floating_point()]
    if bad:
        raise ConversionError("entries that are not floating-point tensors with string keys: %s" % ", ".join(bad[:12]))
    if not sd:
        raise ConversionError("the state dict is empty")
    return sd


def _flatten_module(module, prefix, out):
    """A pickled torch module's state dict: its parameters, then its persistent buffers, then its
    children, recursively (torch's state_dict order)."""
    state = module.state if isinstance(module, _Stub) else None
    if not (isinstance(state, dict) and all(isinstance(state.get(k), dict)
                                            for k in ("_parameters", "_buffers", "_modules"))):
        raise ConversionError("'%s' is a %s, not a pickled torch module" % (
            prefix.rstrip(".") or "G_ema", getattr(module, "qualname", type(module).__name__)))
    skip = state.get("_non_persistent_buffers_set") or set()
    for name, t in list(state["_parameters"].items()) + [(n, b) for n, b in state["_buffers"].items() if n not in skip]:
        if t is not None:
            out[prefix + str(name)] = t
    for name, child in state["_modules"].items():
        if child is not None:
            _flatten_module(child, "%s%s." % (prefix, name), out)
    return out


def _plain(value):
    """init_kwargs as JSON-ready values (an EasyDict is a dict; anything else unknown becomes its name)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return "<%s>" % getattr(value, "qualname", type(value).__name__)


def extract_network(obj):
    """(state dict, init_kwargs) of the 'G_ema' network in a StyleGAN3-format pickle."""
    g = obj["G_ema"]
    if isinstance(g, torch.nn.Module):  # --trust-pickle with the official code on the Python path
        sd, kwargs = g.state_dict(), getattr(g, "init_kwargs", {})
    else:
        sd = _flatten_module(g, "", OrderedDict())
        kwargs = g.state.get("_init_kwargs", {}) if isinstance(g.state, dict) else {}
    return _check_state_dict(sd), _plain(kwargs)


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
                              "'g_ema' entry, nor a network pickle with a 'G_ema' entry; top-level keys: %s"
                              % ", ".join(map(str, list(obj)[:12])))
    return _check_state_dict(sd)


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


def _layout_problems(sd, want):
    """Every missing, unexpected and wrongly shaped key of sd against want (key -> shape)."""
    problems = ["missing '%s' %s" % (k, s) for k, s in want.items() if k not in sd]
    problems += ["unexpected '%s'" % k for k in sd if k not in want]
    problems += ["'%s' has shape %s; expected %s" % (k, tuple(sd[k].shape), s)
                 for k, s in want.items() if k in sd and tuple(sd[k].shape) != s]
    return problems


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
    problems = _layout_problems(sd, want)
    if problems:
        raise ConversionError("does not match the official %s layout at size %d (hidden %d, style %d, %d mapping "
                              "layers):\n  %s" % (MODELS[variant], size, hidden, style_dim, n_mlp,
                                                  "\n  ".join(problems)))


def summary(sd, variant, size):
    params = sum(t.numel() for t in sd.values())
    return "%s, size %d: %d keys, %s parameters" % (MODELS[variant], size, len(sd), format(params, ","))


# ---------------------------------------------------------------------------------------------------
# CREPS (creps.md sections 0, 4 and 8)
# ---------------------------------------------------------------------------------------------------

def _shape(sd, key):
    if key not in sd:
        raise ConversionError("not an official CREPS generator: '%s' is missing" % key)
    return tuple(sd[key].shape)


def check_init_kwargs(kwargs, expected):
    """Refuses init_kwargs whose entries disagree with what the weights say (expected)."""
    clash = ["%s = %r (the weights say %r)" % (k, kwargs[k], v) for k, v in expected.items()
             if k in kwargs and kwargs[k] != v]
    if clash:
        raise ConversionError("init_kwargs disagree with the weights: %s%s" % (", ".join(clash), (
            "; conditional models are not supported (pixsyn's mapping has no label embedding)"
            if kwargs.get("c_dim") else "")))


def creps_config(sd, kwargs):
    """The configuration of a CREPS state dict, from its shapes; init_kwargs, when present, must agree."""
    weight = _shape(sd, "synthesis.b4.input.weight")
    if len(weight) != 4 or weight[:1] + weight[2:3] != (1, 1) or weight[3] % 2:
        raise ConversionError("'synthesis.b4.input.weight' has shape %s; expected (1, channels, 1, 2 x thickness) "
                              "(official bi-line CREPS)" % (weight,))
    blocks = sorted(int(k.split(".")[1][1:]) for k in sd if k.startswith("synthesis.b") and k.endswith(".fc1.weight")
                    and k.split(".")[1][1:].isdigit())
    size = blocks[-1] if blocks else 0
    if size < 8 or size & (size - 1):
        raise ConversionError("the last synthesis block is b%d; the size must be a power of two >= 8" % size)
    widths = {r: _shape(sd, "synthesis.b%d.fc1.weight" % r)[0] for r in blocks}
    mapping = _shape(sd, "mapping.fc0.weight")
    cfg = creps_ref.default_config(
        size=size, z_dim=mapping[1], w_dim=mapping[0],
        mapping_layers=sum(1 for k in sd if k.startswith("mapping.fc") and k.endswith(".weight")),
        # channel_max is the widest block; channel_base / size the narrowest when it is below the cap.
        channel_max=widths[4], channel_base=kwargs.get("channel_base", widths[size] * size),
        biline_channels=_shape(sd, "synthesis.decoder_img.weight")[1], thickness=weight[3] // 2,
        refinement_blocks=sum(1 for b in ("block0", "block1") if "synthesis.%s.fc0.weight" % b in sd),
        fusion="layer_wise" if "synthesis.decoder_%d.0.weight" % size in sd else "final")
    expected = {"img_resolution": size, "z_dim": cfg["z_dim"], "w_dim": cfg["w_dim"], "c_dim": 0, "img_channels": 3,
                "channel_max": cfg["channel_max"], "biline_channels": cfg["biline_channels"]}
    check_init_kwargs(kwargs, expected)
    return cfg


def creps_model_name(cfg):
    """The pixsyn program's name for the configuration, or None when no registered type has it."""
    official = creps_ref.default_config(size=cfg["size"], thickness=cfg["thickness"])
    if any(cfg[k] != official[k] for k in official if k not in ("fusion",)):
        return None
    if cfg["fusion"] == "final":
        return "creps-single-d%d" % cfg["thickness"]
    return "creps" if cfg["thickness"] == 8 else "creps-multi-d%d" % cfg["thickness"]


def check_creps_layout(sd, cfg):
    problems = _layout_problems(sd, creps_ref.state_dict_shapes(cfg))
    if problems:
        raise ConversionError("does not match the official CREPS layout at size %d (channel_base %d, channel_max %d, "
                              "thickness %d, %d bi-line channels):\n  %s" % (
                                  cfg["size"], cfg["channel_base"], cfg["channel_max"], cfg["thickness"],
                                  cfg["biline_channels"], "\n  ".join(problems)))


def creps_summary(sd, cfg):
    params = sum(t.numel() for k, t in sd.items() if k not in creps_ref.BUFFERS)
    name = creps_model_name(cfg) or "CREPS (channel_base %d, channel_max %d, thickness %d: no registered pixsyn " \
                                      "model; load it into a creps::Generator of this Config)" % (
                                          cfg["channel_base"], cfg["channel_max"], cfg["thickness"])
    return "%s, size %d: %d keys, %s trainable parameters" % (name, cfg["size"], len(sd), format(params, ","))


# ---------------------------------------------------------------------------------------------------
# ALIS (alis.md sections 1, 7 and 9)
# ---------------------------------------------------------------------------------------------------

def is_alis(sd):
    return "synthesis.max_shift_strength" in sd or "synthesis.b4.conv1.noise_const" in sd


def _get(tree, *path, default=None):
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return default
        tree = tree[key]
    return tree


def alis_config(sd, kwargs):
    """The configuration of an ALIS state dict: widths, sizes and the coordinate basis from its shapes;
    the patch count, the anchor distance and the fp16 blocks from init_kwargs (released defaults when
    absent). Configurations pixsyn does not implement are refused."""
    blocks = sorted(int(k.split(".")[1][1:]) for k in sd if k.startswith("synthesis.b") and k.endswith(".conv1.weight")
                    and k.split(".")[1][1:].isdigit())
    size = blocks[-1] if blocks else 0
    if size < 8 or size & (size - 1) or blocks[0] != 4:
        raise ConversionError("the synthesis blocks run from b%d to b%d; expected b4 .. b<size>, size a power of two "
                              ">= 8" % (blocks[0] if blocks else 0, size))
    widths = {r: _shape(sd, "synthesis.b%d.conv1.weight" % r)[0] for r in blocks}
    mapping = _shape(sd, "mapping.fc0.weight")
    scfg = _get(kwargs, "synthesis_cfg", default={}) or {}
    skw = _get(kwargs, "synthesis_kwargs", default={}) or {}
    if _get(scfg, "patchwise", "instance_norm", default=False):
        raise ConversionError("synthesis_cfg.patchwise.instance_norm is on: pixsyn implements the released "
                              "configuration, without activation normalisation")
    if _get(scfg, "patchwise", "enabled", default=True) is False or _get(scfg, "style", "is_spatial",
                                                                         default=True) is False:
        raise ConversionError("not a patch-wise, spatially modulated ALIS generator (synthesis_cfg)")
    coord_const = "synthesis.b4.input.input.input_column" in sd
    noise = _shape(sd, "synthesis.b4.conv1.noise_const")
    basis = "synthesis.b8.coords_fuser0.basis"
    cfg = alis_ref.default_config(
        size=size, z_dim=mapping[1], w_dim=mapping[0],
        mapping_layers=sum(1 for k in sd if k.startswith("mapping.fc") and k.endswith(".weight")),
        channel_max=widths[4], channel_base=skw.get("channel_base", widths[size] * size),
        input_resolution=noise[0], patches=_get(scfg, "patchwise", "grid_size", default=2),
        anchor_distance=_get(scfg, "patchwise", "w_coord_dist", default=4),
        input="coord_const" if coord_const else "constant", coordinate_fusers=basis in sd,
        fp16_resolutions=skw.get("num_fp16_res", 4))
    if basis in sd:  # the lowest frequency is kept when b8's basis has its 4 extra rows
        cfg["remove_lowest_freq"] = _shape(sd, basis)[0] == alis_ref.fuser_rows(cfg, 8)
    expected = {"img_resolution": size, "z_dim": cfg["z_dim"], "w_dim": cfg["w_dim"], "c_dim": 0, "img_channels": 3}
    check_init_kwargs(kwargs, expected)
    return cfg


def alis_model_name(cfg):
    """The pixsyn program's name for the configuration, or None when no registered type has it (the
    coordinate basis may differ: pixsyn takes it from the weights)."""
    free = ("size", "remove_lowest_freq")
    for name, official in (("alis", alis_ref.default_config(size=cfg["size"])),
                           ("alis-nocoords", alis_ref.default_config(size=cfg["size"], input="constant",
                                                                     coordinate_fusers=False))):
        if all(cfg[k] == official[k] for k in official if k not in free):
            return name
    return None


def check_alis_layout(sd, cfg):
    want = OrderedDict((k, tuple(s)) for k, s, _ in alis_ref.state_dict_layout(cfg))
    problems = _layout_problems(sd, want)
    if problems:
        raise ConversionError("does not match the official ALIS layout at size %d (channel_base %d, channel_max %d, "
                              "input %s %dx%d):\n  %s" % (cfg["size"], cfg["channel_base"], cfg["channel_max"],
                                                          cfg["input"], cfg["input_resolution"],
                                                          cfg["input_resolution"], "\n  ".join(problems)))


def alis_summary(sd, cfg):
    params = alis_ref.parameter_count(cfg)
    name = alis_model_name(cfg) or "ALIS (no registered pixsyn model; load it into an alis::Generator of this Config)"
    return "%s, size %d (g = %d patches, anchor distance D = %d): %d keys, %s trainable parameters" % (
        name, cfg["size"], cfg["patches"], cfg["anchor_distance"], len(sd), format(params, ","))


# ---------------------------------------------------------------------------------------------------

def write_atomically(tensors, path, meta):
    """Writes to a temporary file beside `path`, then renames it into place."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, ".%s.%d.tmp" % (os.path.basename(path), os.getpid()))
    try:
        safetensors_io.save_file(tensors, tmp, meta)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("input", help="official CIPS .pt checkpoint or CREPS or ALIS .pkl, or a .safetensors file with "
                                 "--check")
    p.add_argument("output", nargs="?", help="output .safetensors (default: input with .safetensors suffix)")
    p.add_argument("--check", action="store_true", help="validate and print key and parameter counts; write nothing")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow arbitrary pickled objects in the checkpoint (only for files you trust; a CREPS .pkl "
                        "then needs the official code's torch_utils, dnnlib and training on PYTHONPATH)")
    a = p.parse_args(argv)
    try:
        kwargs = None
        if a.input.endswith(".safetensors"):
            if not a.check:
                raise ConversionError("%s is already a safetensors file (use --check to inspect it)" % a.input)
            sd, meta = safetensors_io.load_file(a.input)
            print("metadata: %s" % dict(sorted(meta.items())))
            if "init_kwargs" in meta:
                kwargs = json.loads(meta["init_kwargs"])
        else:
            obj = load_checkpoint(a.input, a.trust_pickle)
            if isinstance(obj, dict) and "G_ema" in obj:
                sd, kwargs = extract_network(obj)
            else:
                sd = extract_state_dict(obj)
        if is_alis(sd):
            cfg = alis_config(sd, kwargs or {})
            check_alis_layout(sd, cfg)
            text, size = alis_summary(sd, cfg), cfg["size"]
            meta = {"model": alis_model_name(cfg) or "alis-custom", "size": size, "patches": cfg["patches"],
                    "anchor_distance": cfg["anchor_distance"], "init_kwargs": json.dumps(kwargs or {}, sort_keys=True)}
        elif "synthesis.b4.input.weight" in sd or kwargs is not None:
            cfg = creps_config(sd, kwargs or {})
            check_creps_layout(sd, cfg)
            text, size = creps_summary(sd, cfg), cfg["size"]
            meta = {"model": creps_model_name(cfg) or "creps-custom", "size": size,
                    "init_kwargs": json.dumps(kwargs or {}, sort_keys=True)}
        else:
            variant, size = detect(sd)
            check_layout(sd, variant, size)
            text, meta = summary(sd, variant, size), {"model": MODELS[variant], "size": size}
        if a.check:
            print(text)
            return 0
        out = a.output or os.path.splitext(a.input)[0] + ".safetensors"
        if os.path.abspath(out) == os.path.abspath(a.input) or (os.path.exists(out) and os.path.samefile(out, a.input)):
            raise ConversionError("output would overwrite the input")
        tensors = OrderedDict((k, v.detach().to(torch.float32).contiguous()) for k, v in sd.items())
        write_atomically(tensors, out, dict({"format": "pixsyn", "source": os.path.basename(a.input)}, **meta))
        print("wrote %s: %s" % (out, text))
        return 0
    except ConversionError as e:
        print("convert_official: %s: %s" % (a.input, e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
