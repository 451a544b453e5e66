#!/usr/bin/python3
"""Network pickles with the structure of the official StyleGAN2-ADA / StyleGAN3 ones (CREPS, ALIS), for
the offline checks of tools/convert_official.py (check_convert_creps.py, check_convert_alis.py).

An official pickle is a dict {G, D, G_ema, augment_pipe, training_set_kwargs} whose networks are torch
modules pickled whole, persistent classes reduced to torch_utils.persistence._reconstruct_persistent_obj(meta)
with meta = {type, version, module_src, class_name, state}, init_kwargs holding dnnlib.util.EasyDict
values, and tensors embedding legacy storages. The modules named there are stand-ins made here (no code
of the official repositories).
"""

import io
import os
import pickle
import sys
import types

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import convert_official  # noqa: E402

FAILURES = []


def report(name, ok, detail=""):
    print("%s  %s%s" % ("PASS" if ok else "FAIL", name, (": " + detail) if detail and not ok else ""))
    if not ok:
        FAILURES.append(name)


def finish():
    print("all PASS" if not FAILURES else "%d FAILED: %s" % (len(FAILURES), ", ".join(FAILURES)))
    return 1 if FAILURES else 0


def module(name):
    """The (stand-in) Python module `name`, registered with its parents."""
    mod = sys.modules.get(name) or types.ModuleType(name)
    sys.modules[name] = mod
    if "." in name:
        parent, leaf = name.rsplit(".", 1)
        setattr(module(parent), leaf, mod)
    return mod


persistence = module("torch_utils.persistence")


def _reconstruct_persistent_obj(meta):  # never called here: the converter reads the pickle, not pickle.load
    raise RuntimeError("the stand-in persistence module does not unpickle")


_reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj


class EasyDict(dict):
    pass


EasyDict.__module__ = "dnnlib.util"
module("dnnlib.util").EasyDict = EasyDict

MODULE_SRC = "# the module's source text would be here; a reader must never execute it\n"


def stand_in_class(module_name, name, persistent=True):
    """A torch.nn.Module subclass module_name.name; a persistent one pickles as the official persistence
    wrapper does (its state in meta, its source text along)."""
    def __reduce__(self):
        state = dict(self.__dict__)
        meta = dict(type="class", version=6, module_src=MODULE_SRC, class_name=name, state=state)
        return (_reconstruct_persistent_obj, (meta,))

    cls = type(name, (torch.nn.Module,), {"__reduce__": __reduce__} if persistent else {})
    cls.__module__ = module_name
    setattr(module(module_name), name, cls)
    return cls


def build_network(sd, class_of, buffers, init_kwargs):
    """Modules of the classes class_of(path) (a list of names) holding the tensors of sd in sd's order:
    the keys in `buffers` as buffers, the others as parameters."""
    root = class_of([])()
    root._init_args, root._init_kwargs = (), init_kwargs
    modules = {(): root}
    for key, value in sd.items():
        *path, name = key.split(".")
        for i in range(1, len(path) + 1):
            if tuple(path[:i]) not in modules:
                child = class_of(path[:i])()
                if not isinstance(child, torch.nn.Sequential):
                    child._init_args, child._init_kwargs = (), {}
                modules[tuple(path[:i - 1])].add_module(path[i - 1], child)
                modules[tuple(path[:i])] = child
        mod = modules[tuple(path)]
        if key in buffers:
            mod.register_buffer(name, value.clone())
        else:
            mod.register_parameter(name, torch.nn.Parameter(value.clone(), requires_grad=False))
    return root


def network_pickle(make_g, resolution, extra=None):
    """The official container around G and G_ema (each make_g()), a stand-in D and the data set's kwargs."""
    data = dict(G=make_g(), D=torch.nn.Linear(2, 2), G_ema=make_g(), augment_pipe=None,
                training_set_kwargs=EasyDict(path="data.zip", resolution=resolution))
    data.update(extra or {})
    return pickle.dumps(data, protocol=4)


def convert(tmp, name, payload, *args):
    """Writes payload to tmp/name.pkl and converts it to tmp/name.safetensors: (status, output, stderr)."""
    src = os.path.join(tmp, name + ".pkl")
    with open(src, "wb") as f:
        f.write(payload)
    out = os.path.join(tmp, name + ".safetensors")
    err = io.StringIO()
    stderr, sys.stderr = sys.stderr, err
    try:
        status = convert_official.main([src, out, *args])
    finally:
        sys.stderr = stderr
    return status, out, err.getvalue()


def check_output(path):
    """What convert_official.py --check prints for path."""
    buf = io.StringIO()
    stdout, sys.stdout = sys.stdout, buf
    try:
        convert_official.main(["--check", path])
    finally:
        sys.stdout = stdout
    return buf.getvalue()
