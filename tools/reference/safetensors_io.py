"""Minimal safetensors writer/reader (the `safetensors` package is not available here).

Format: 8-byte little-endian u64 N, then N bytes of UTF-8 JSON header (padded with spaces to a
multiple of 8), then the raw little-endian row-major tensor data.  Header entries:
{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ..., "__metadata__": {...}}
with offsets relative to the start of the data section and metadata values as strings.
"""

import json
import os
import struct
from collections import OrderedDict

import numpy as np
import torch

_DTYPES = {
    torch.float32: ("F32", np.dtype("<f4")),
    torch.float64: ("F64", np.dtype("<f8")),
    torch.int64: ("I64", np.dtype("<i8")),
    torch.int32: ("I32", np.dtype("<i4")),
}
_BY_NAME = {name: np_dt for name, np_dt in _DTYPES.values()}

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def fixture_dir(family):
    """tests/fixtures/<family> of the repository."""
    return os.path.join(ROOT, "tests", "fixtures", family)


def save_file(tensors, path, metadata=None):
    """tensors: ordered mapping name -> torch tensor (F32/F64/I32/I64).  Order is preserved."""
    header = OrderedDict()
    blobs = []
    offset = 0
    for name, t in tensors.items():
        if name == "__metadata__":
            raise ValueError("reserved name")
        if t.dtype not in _DTYPES:
            raise TypeError("unsupported dtype %s for %s" % (t.dtype, name))
        dname, np_dt = _DTYPES[t.dtype]
        data = np.ascontiguousarray(t.detach().cpu().numpy().astype(np_dt, copy=False)).tobytes()
        header[name] = {"dtype": dname, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = OrderedDict((str(k), str(v)) for k, v in metadata.items())
    hbytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hbytes += b" " * ((-len(hbytes)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hbytes)))
        f.write(hbytes)
        for b in blobs:
            f.write(b)


def load_file(path):
    """Returns (OrderedDict name -> torch tensor, metadata dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"), object_pairs_hook=OrderedDict)
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = OrderedDict()
    for name, info in header.items():
        b, e = info["data_offsets"]
        arr = np.frombuffer(raw[base + b:base + e], dtype=_BY_NAME[info["dtype"]])
        out[name] = torch.from_numpy(arr.copy().reshape(info["shape"]))
    return out, dict(meta)


def save_checked(tensors, path, metadata=None, dtype=None):
    """save_file, then the file read back: the same names in order, every tensor equal (and of `dtype` when
    given), the metadata as strings."""
    save_file(tensors, path, metadata)
    back, meta_back = load_file(path)
    assert list(back.keys()) == list(tensors.keys())
    for k, v in tensors.items():
        assert back[k].dtype == (dtype or v.dtype) and torch.equal(back[k], v.contiguous()), k
    assert meta_back == {str(k): str(v) for k, v in (metadata or {}).items()}


def write_model_fixtures(family, specs, make):
    """Writes tests/fixtures/<family>/<spec name>.safetensors for every spec: make(spec) -> (tensors, metadata),
    float32 tensors and metadata with rgb_max_abs and rgb_f32_vs_f64_max_abs_diff, which are printed."""
    os.makedirs(fixture_dir(family), exist_ok=True)
    for spec in specs:
        tensors, meta = make(spec)
        path = os.path.join(fixture_dir(family), spec["name"] + ".safetensors")
        save_checked(tensors, path, meta, torch.float32)
        print("%-60s %8d bytes  max|rgb| %s  f32-vs-f64 %s" % (os.path.relpath(path, ROOT), os.path.getsize(path),
                                                               meta["rgb_max_abs"], meta["rgb_f32_vs_f64_max_abs_diff"]))
