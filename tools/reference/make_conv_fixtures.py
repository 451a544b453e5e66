#!/usr/bin/python3
"""Write the convolution-op fixtures: tests/fixtures/ops/{conv,upfirdn2d,stylegan_ops}.safetensors.

Usage (from the repository root):  /usr/bin/python3 tools/reference/make_conv_fixtures.py
Deterministic (fixed torch.Generator seeds, one thread); every tensor is float64.

- conv.safetensors: torch.nn.functional.conv2d / conv_transpose2d in float64, with shared weights and
  with per-sample weights (run as the grouped convolution StyleGAN2's modulated conv uses).
  Keys x.<case>, w.<case>, opt.<case> = [stride, padding, output_padding], out.<case>;
  <case> = conv2d.<k> or conv_transpose2d.<k>.
- upfirdn2d.safetensors: upfirdn2d written here from its definition (zero insertion, pad/crop, FIR
  convolution with the flipped filter through torch's conv2d, then keeping every down-th sample), checked
  inside this script against a plain-loop evaluation of the same sum. Keys x.<k>, f.<k> (2-D, or 1-D for a
  separable filter), opt.<k> = [up, down, pad_x0, pad_x1, pad_y0, pad_y1, gain, flip_filter], out.<k>; and
  filter.<name>: setup_filter as the official code defines it.
- stylegan_ops.safetensors: minibatch standard deviation (the official MinibatchStdLayer's reshapes) and
  ALIS's patchwise_op (view, permute, op, permute back) around a zero-padded 3x3 conv2d.
"""

import os
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from safetensors_io import ROOT, fixture_dir, save_checked  # noqa: E402

OPS_DIR = fixture_dir("ops")
D = torch.float64


def randn(gen, *shape):
    return torch.randn(*shape, generator=gen, dtype=D)


# ---------------------------------------------------------------------------------------------- conv


def conv2d_any(x, w, stride, padding):
    """Shared weight (O, I, kh, kw) or per-sample (B, O, I, kh, kw) as a grouped convolution."""
    if w.dim() == 4:
        return F.conv2d(x, w, stride=stride, padding=padding)
    b, o, i, kh, kw = w.shape
    y = F.conv2d(x.reshape(1, b * i, *x.shape[2:]), w.reshape(b * o, i, kh, kw), stride=stride, padding=padding,
                 groups=b)
    return y.reshape(b, o, *y.shape[2:])


def conv_transpose2d_any(x, w, stride, padding, output_padding):
    """Shared weight (I, O, kh, kw) or per-sample (B, I, O, kh, kw) as a grouped transposed convolution."""
    if w.dim() == 4:
        return F.conv_transpose2d(x, w, stride=stride, padding=padding, output_padding=output_padding)
    b, i, o, kh, kw = w.shape
    y = F.conv_transpose2d(x.reshape(1, b * i, *x.shape[2:]), w.reshape(b * i, o, kh, kw), stride=stride,
                           padding=padding, output_padding=output_padding, groups=b)
    return y.reshape(b, o, *y.shape[2:])


# (x shape, w shape, stride, padding[, output_padding])
CONV2D = [
    ((2, 3, 7, 6), (4, 3, 3, 3), 1, 1),
    ((2, 3, 8, 7), (4, 3, 3, 3), 2, 1),
    ((1, 5, 6, 6), (3, 5, 1, 1), 1, 0),
    ((2, 2, 9, 8), (3, 2, 4, 4), 2, 0),
    ((2, 3, 5, 7), (2, 4, 3, 3, 3), 1, 1),
    ((2, 2, 7, 6), (2, 3, 2, 3, 3), 2, 1),
]
CONV_TRANSPOSE2D = [
    ((2, 4, 4, 5), (4, 3, 3, 3), 2, 0, 0),  # StyleGAN2's up-sampling conv
    ((2, 4, 4, 5), (4, 3, 3, 3), 2, 1, 1),
    ((1, 3, 3, 3), (3, 2, 4, 4), 2, 1, 0),
    ((2, 3, 5, 4), (3, 2, 3, 3), 1, 1, 0),
    ((2, 3, 3, 4), (2, 3, 2, 3, 3), 2, 0, 1),  # per sample
]


def make_conv_fixture():
    gen = torch.Generator().manual_seed(301)
    t = OrderedDict()
    for k, (xs, ws, s, p) in enumerate(CONV2D):
        x, w = randn(gen, *xs), randn(gen, *ws)
        name = "conv2d.%d" % k
        t["x." + name], t["w." + name] = x, w
        t["opt." + name] = torch.tensor([s, p, 0], dtype=D)
        t["out." + name] = conv2d_any(x, w, s, p)
    for k, (xs, ws, s, p, op) in enumerate(CONV_TRANSPOSE2D):
        x, w = randn(gen, *xs), randn(gen, *ws)
        name = "conv_transpose2d.%d" % k
        t["x." + name], t["w." + name] = x, w
        t["opt." + name] = torch.tensor([s, p, op], dtype=D)
        t["out." + name] = conv_transpose2d_any(x, w, s, p, op)
    # The per-sample grouped convolution equals one convolution per sample.
    for key in [k for k in t if k.startswith("out.")]:
        name = key[4:]
        x, w, opt = t["x." + name], t["w." + name], t["opt." + name].long().tolist()
        if w.dim() == 5:
            for b in range(x.shape[0]):
                if name.startswith("conv2d"):
                    one = F.conv2d(x[b:b + 1], w[b], stride=opt[0], padding=opt[1])
                else:
                    one = F.conv_transpose2d(x[b:b + 1], w[b], stride=opt[0], padding=opt[1], output_padding=opt[2])
                assert torch.allclose(one, t[key][b:b + 1], atol=1e-12), name
    meta = OrderedDict(op="torch.nn.functional.conv2d / conv_transpose2d (float64)",
                       torch_version=torch.__version__, seed="301",
                       generator="tools/reference/make_conv_fixtures.py")
    return write("conv.safetensors", t, meta)


# ----------------------------------------------------------------------------------------- upfirdn2d


def setup_filter(taps, normalize=True, flip_filter=False, gain=1, separable=None):
    """The official setup_filter (torch_utils/ops/upfirdn2d.py), from its definition."""
    f = torch.as_tensor(taps, dtype=D)
    if separable is None:
        separable = f.dim() == 1 and f.numel() >= 8
    if f.dim() == 1 and not separable:
        f = torch.outer(f, f)
    if normalize:
        f = f / f.sum()
    if flip_filter:
        f = f.flip(list(range(f.dim())))
    return f * (gain ** (f.dim() / 2))


def upfirdn2d(x, f, up=1, down=1, pad=(0, 0, 0, 0), gain=1.0, flip_filter=False):
    """Zero insertion, pad (negative crops), FIR convolution with f·gain^(rank/2), keep every down-th sample.

    pad = (x0, x1, y0, y1). A 2-D filter convolves once; a 1-D filter along the width, then the height.
    """
    b, c, h, w = x.shape
    px0, px1, py0, py1 = pad
    y = torch.zeros(b, c, h * up, w * up, dtype=D)
    y[:, :, ::up, ::up] = x
    y = F.pad(y, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    y = y[:, :, max(-py0, 0):y.shape[2] - max(-py1, 0), max(-px0, 0):y.shape[3] - max(-px1, 0)]
    f = f * (gain ** (f.dim() / 2))
    if not flip_filter:  # conv2d correlates: flipping the filter makes it a convolution
        f = f.flip(list(range(f.dim())))
    if f.dim() == 2:
        y = F.conv2d(y, f[None, None].repeat(c, 1, 1, 1), groups=c)
    else:
        y = F.conv2d(y, f[None, None, None, :].repeat(c, 1, 1, 1), groups=c)
        y = F.conv2d(y, f[None, None, :, None].repeat(c, 1, 1, 1), groups=c)
    return y[:, :, ::down, ::down]


def upfirdn2d_loops(x, f, up, down, pad, gain, flip_filter):
    """The same sum, one output sample at a time (a check of the function above)."""
    x, f = x.numpy(), f.numpy()
    f2 = f if f.ndim == 2 else np.outer(f, f)
    f2 = f2 * gain
    fh, fw = f2.shape
    b, c, h, w = x.shape
    px0, px1, py0, py1 = pad
    oh = (h * up + py0 + py1 - fh) // down + 1
    ow = (w * up + px0 + px1 - fw) // down + 1
    out = np.zeros((b, c, oh, ow))
    for my in range(oh):
        for mx in range(ow):
            for ky in range(fh):
                for kx in range(fw):
                    ty, tx = my * down + ky - py0, mx * down + kx - px0
                    if 0 <= ty < h * up and 0 <= tx < w * up and ty % up == 0 and tx % up == 0:
                        tap = f2[ky, kx] if flip_filter else f2[fh - 1 - ky, fw - 1 - kx]
                        out[:, :, my, mx] += tap * x[:, :, ty // up, tx // up]
    return torch.from_numpy(out)


def make_upfirdn2d_fixture():
    gen = torch.Generator().manual_seed(302)
    t = OrderedDict()
    f1331 = setup_filter([1, 3, 3, 1])
    t["filter.1331"] = f1331
    t["filter.1331_gain4_flip"] = setup_filter([1, 2, 3, 4], flip_filter=True, gain=4)
    t["filter.8taps"] = setup_filter([1, 2, 3, 4, 4, 3, 2, 1])  # separable by default
    asym = randn(gen, 3, 4)
    sep = randn(gen, 5)
    # name, x shape, filter, up, down, pad (x0, x1, y0, y1), gain, flip
    cases = [
        ("upsample2d", (2, 3, 4, 5), f1331, 2, 1, (2, 1, 2, 1), 4.0, False),
        ("alis_upconv_fir", (1, 2, 9, 11), f1331, 1, 1, (1, 1, 1, 1), 4.0, False),
        ("downsample2d", (2, 2, 8, 7), f1331, 1, 2, (1, 1, 1, 1), 1.0, False),
        ("filter2d", (1, 3, 6, 5), f1331, 1, 1, (2, 1, 2, 1), 1.0, False),
        ("asym_crop", (2, 2, 7, 9), asym, 1, 1, (-1, 2, 1, -2), 1.0, False),
        ("asym_flip_up3", (1, 2, 4, 3), asym, 3, 1, (1, 0, 2, 3), 2.0, True),
        ("asym_up2_down3", (2, 1, 6, 7), asym, 2, 3, (0, 1, 3, 0), 1.0, False),
        ("separable_up2", (2, 2, 5, 6), sep, 2, 1, (2, 2, 1, 3), 4.0, False),
        ("separable_down2_flip", (1, 3, 9, 8), sep, 1, 2, (2, 1, 0, 2), 1.0, True),
    ]
    worst = 0.0
    for name, xs, f, up, down, pad, gain, flip in cases:
        x = randn(gen, *xs)
        out = upfirdn2d(x, f, up, down, pad, gain, flip)
        worst = max(worst, (out - upfirdn2d_loops(x, f, up, down, pad, gain, flip)).abs().max().item())
        t["x." + name], t["f." + name] = x, f
        t["opt." + name] = torch.tensor([up, down, *pad, gain, float(flip)], dtype=D)
        t["out." + name] = out
    assert worst < 1e-12, worst
    meta = OrderedDict(op="upfirdn2d from its definition (float64)", loops_max_abs_diff="%.3g" % worst,
                       torch_version=torch.__version__, seed="302",
                       generator="tools/reference/make_conv_fixtures.py")
    return write("upfirdn2d.safetensors", t, meta)


# ----------------------------------------------------------------------------- minibatch std, patches


def minibatch_stddev(x, group_size, num_channels):
    """StyleGAN2-ADA's MinibatchStdLayer.forward, from its definition."""
    n, c, h, w = x.shape
    g = min(group_size, n)
    y = x.reshape(g, -1, num_channels, c // num_channels, h, w)
    y = y - y.mean(dim=0)
    y = y.square().mean(dim=0)
    y = (y + 1e-8).sqrt()
    y = y.mean(dim=[2, 3, 4])
    y = y.reshape(-1, num_channels, 1, 1)
    y = y.repeat(g, 1, h, w)
    return torch.cat([x, y], dim=1)


def patchwise_op(op, x, grid_size, up=1):
    """ALIS's patchwise_op (training/networks.py), from its definition."""
    b, c, h, w = x.shape
    wp = w // grid_size
    x = x.view(b, c, h, grid_size, wp).permute(0, 3, 1, 2, 4).contiguous().view(b * grid_size, c, h, wp)
    y = op(x)
    co = y.shape[1]
    y = y.view(b, grid_size, co, h * up, wp * up).permute(0, 2, 3, 1, 4).contiguous()
    return y.view(b, co, h * up, w * up)


def make_stylegan_ops_fixture():
    gen = torch.Generator().manual_seed(303)
    t = OrderedDict()
    # name, x shape, group size, channels
    for name, xs, g, f in [("g4c1", (8, 6, 3, 5), 4, 1), ("g2c3", (6, 6, 2, 3), 2, 3), ("g4_of_2", (2, 4, 3, 3), 4, 1)]:
        x = randn(gen, *xs)
        t["mbstd.x." + name] = x
        t["mbstd.opt." + name] = torch.tensor([g, f], dtype=D)
        t["mbstd.out." + name] = minibatch_stddev(x, g, f)
    # rosinality's layer (CIPS's discriminator) computes the same: view(group, -1, F, C/F, H, W), var(0,
    # unbiased=False) + 1e-8, sqrt, mean over [2, 3, 4], repeat(group, 1, H, W).
    x = t["mbstd.x.g2c3"]
    s = x.view(2, -1, 3, 2, 2, 3)
    s = torch.sqrt(s.var(0, unbiased=False) + 1e-8).mean([2, 3, 4], keepdims=True).squeeze(2).repeat(2, 1, 2, 3)
    assert torch.allclose(torch.cat([x, s], 1), t["mbstd.out.g2c3"], atol=1e-14)

    x, w = randn(gen, 2, 3, 5, 8), randn(gen, 4, 3, 3, 3)
    t["patch.x"], t["patch.w"] = x, w
    t["patch.conv3x3_g2"] = patchwise_op(lambda p: F.conv2d(p, w, padding=1), x, 2)
    t["patch.conv3x3_g4"] = patchwise_op(lambda p: F.conv2d(p, w, padding=1), x, 4)
    f = setup_filter([1, 3, 3, 1])
    t["patch.upsample2d_g2"] = patchwise_op(lambda p: upfirdn2d(p, f, 2, 1, (2, 1, 2, 1), 4.0), x, 2, up=2)
    meta = OrderedDict(op="MinibatchStdLayer and ALIS patchwise_op from their definitions (float64)",
                       torch_version=torch.__version__, seed="303",
                       generator="tools/reference/make_conv_fixtures.py")
    return write("stylegan_ops.safetensors", t, meta)


def write(name, tensors, meta):
    path = os.path.join(OPS_DIR, name)
    save_checked(tensors, path, meta, D)
    return path


def main():
    torch.set_num_threads(1)
    os.makedirs(OPS_DIR, exist_ok=True)
    for path in (make_conv_fixture(), make_upfirdn2d_fixture(), make_stylegan_ops_fixture()):
        print("%s  %d bytes" % (os.path.relpath(path, ROOT), os.path.getsize(path)))


if __name__ == "__main__":
    main()
