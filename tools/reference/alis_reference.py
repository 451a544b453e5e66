#!/usr/bin/python3
"""Independent plain-PyTorch reference of the ALIS generator (G_ema), written from the project spec
(/work/shared/spec/alis.md); no code from the official repository is used.

Everything is a function of a state dict keyed by the official names (`synthesis.*`, `mapping.*`),
so a converted official checkpoint can be fed in directly.  The synthesis works on whole frames
[B, C, H, W] as the official code does, and splits the width into g patches only around the 3x3
convolutions and the skip upsampling (spec 3).

cfg keys: size, z_dim, w_dim, mapping_layers, mapping_lr, channel_base, channel_max,
input_resolution (official min_resolution), patches (g, official grid_size), anchor_distance (D,
official w_coord_dist), input ('coord_const' | 'constant'), coordinate_fusers (bool),
remove_lowest_freq (bool), clamp, fp16_resolutions (official num_fp16_res).  The released
configs/alis.yml at 256² is default_config().

Inputs of the synthesis: ws [B, 3, num_ws, w_dim], the styles of the left, centre and right anchor
(one w per layer), and the left border delta [B] in patches (0 ... D*g - g).  The official module
takes the centre ws and a context [B, 2, num_ws, w_dim] = (left, right); the order here is the
order of its anchor styles.  The official forward multiplies delta by the buffer
`synthesis.max_shift_strength` and truncates it to an integer; so does this one.

The blocks the official model runs in fp16 (fp16_resolutions) divide each anchor's styles by their
largest magnitude before the interpolation (spec 2.3); here that is done in the working precision
(the parity target of the C++ port is fp32 arithmetic with this normalisation).

Noise: 'off' (none), 'const' (the noise_const buffers) or a list of maps [B, 1, r, r], one per
convolution in forward order (b4.conv1, b8.conv0, b8.conv1, ...), each scaled by noise_strength.

Run `/usr/bin/python3 tools/reference/alis_reference.py --self-check` for the self-checks.
"""

import math
import sys
from collections import OrderedDict

import torch
import torch.nn.functional as F

SQRT2 = math.sqrt(2.0)
LRELU_SLOPE = 0.2


# ----------------------------------------------------------------------------------------------
# Configuration (spec 1.1)
# ----------------------------------------------------------------------------------------------

def default_config(**overrides):
    cfg = dict(size=256, z_dim=512, w_dim=512, mapping_layers=2, mapping_lr=0.01, channel_base=16384,
               channel_max=512, input_resolution=4, patches=2, anchor_distance=4, input="coord_const",
               coordinate_fusers=True, remove_lowest_freq=True, clamp=256.0, fp16_resolutions=4)
    cfg.update(overrides)
    assert cfg["input"] in ("coord_const", "constant")
    log2(cfg["size"])
    assert cfg["input_resolution"] >= 4 and log2(cfg["input_resolution"]) <= log2(cfg["size"])
    assert cfg["input_resolution"] % cfg["patches"] == 0, "every patch needs at least one column at the input"
    assert cfg["anchor_distance"] >= 2 and cfg["anchor_distance"] % 2 == 0
    return cfg


def log2(n):
    k = int(round(math.log2(n)))
    if 2 ** k != n or k < 2:
        raise ValueError(f"{n} is not a power of two >= 4")
    return k


def block_resolutions(cfg):
    return [2 ** k for k in range(2, log2(cfg["size"]) + 1)]


def width(cfg, r):
    return min(cfg["channel_base"] // r, cfg["channel_max"])


def running_resolution(cfg, r):
    """Blocks up to the input resolution run at it without upsampling (spec 1.3)."""
    return max(r, cfg["input_resolution"])


def fp16_block(cfg, r):
    n = cfg["fp16_resolutions"]
    return n > 0 and r >= max(2 ** (log2(cfg["size"]) + 1 - n), 8)


def first_w(cfg, r):
    """First ws row of block b{r}: b4 takes rows 0..2 (input, conv1, torgb), later blocks 3 rows,
    sharing their last with the next block's conv0 (spec 1.3)."""
    k = log2(r) - 2
    head = 2 if cfg["input"] == "coord_const" else 1
    return 0 if k == 0 else head + 2 * (k - 1)


def num_ws(cfg):
    head = 2 if cfg["input"] == "coord_const" else 1
    return head + 2 * (log2(cfg["size"]) - 2) + 1


COORD_DIMS = {4: 32, 8: 32, 16: 32, 32: 64, 64: 128, 128: 128, 256: 64, 512: 64, 1024: 64}  # channels_dict dims


# ----------------------------------------------------------------------------------------------
# Fixed coordinate basis (spec 1.5)
# ----------------------------------------------------------------------------------------------

def logarithmic_basis(resolution, max_features, remove_lowest_freq):
    """Rows (frequency on x, frequency on y): the 'horizontal' wavefronts (on y), the 'vertical'
    ones (on x), the main and the anti-diagonal, each with n = ceil(log2 r) octaves k of
    2^k * 2pi / period (period 4, or 4 sqrt 2 on the diagonals); k = 0 dropped on request; the
    diagonals dropped (anti-diagonal first) while n * directions exceeds max_features.  Formed in
    float32 as a float32 buffer is."""
    n = int(math.ceil(math.log2(resolution)))
    s = 1.0 / math.sqrt(2.0)
    directions = [((0.0, 1.0), 4.0), ((1.0, 0.0), 4.0), ((-s, s), 4.0 * math.sqrt(2.0)),
                  ((s, s), 4.0 * math.sqrt(2.0))]
    while n * len(directions) > max_features and len(directions) > 2:
        directions = directions[:-1]
    first = 1 if remove_lowest_freq else 0
    rows = []
    for (fx, fy), period in directions:
        coef = torch.tensor(2.0 * math.pi / period, dtype=torch.float32)
        for k in range(first, n):
            rows.append(torch.tensor([fx, fy], dtype=torch.float32) * (2.0 ** k) * coef)
    basis = torch.stack(rows)
    assert basis.shape[0] <= max_features
    return basis


def fuser_rows(cfg, r):
    return logarithmic_basis(running_resolution(cfg, r), COORD_DIMS[running_resolution(cfg, r)],
                             cfg["remove_lowest_freq"]).shape[0]


def input_rows(cfg):
    return logarithmic_basis(cfg["input_resolution"], width(cfg, 4), True).shape[0]


# ----------------------------------------------------------------------------------------------
# State dict: official names, shapes and order (spec 7)
# ----------------------------------------------------------------------------------------------

def _conv_layer(prefix, cin, cout, w_dim, res):
    return [(prefix + "weight", (cout, cin, 3, 3), "param"), (prefix + "noise_strength", (), "param"),
            (prefix + "bias", (cout,), "param"), (prefix + "resample_filter", (4, 4), "buffer"),
            (prefix + "noise_const", (res, res), "buffer"), (prefix + "affine.weight", (cin, w_dim), "param"),
            (prefix + "affine.bias", (cin,), "param")]


def _torgb(prefix, cin, w_dim):
    return [(prefix + "weight", (3, cin, 1, 1), "param"), (prefix + "bias", (3,), "param"),
            (prefix + "affine.weight", (cin, w_dim), "param"), (prefix + "affine.bias", (cin,), "param")]


def state_dict_layout(cfg):
    """[(key, shape, 'param' | 'buffer')] in the order of the official state_dict()."""
    wd = cfg["w_dim"]
    out = [("synthesis.max_shift_strength", (1,), "buffer")]
    for r in block_resolutions(cfg):
        p = f"synthesis.b{r}."
        res, c = running_resolution(cfg, r), width(cfg, r)
        out.append((p + "resample_filter", (4, 4), "buffer"))
        if r == 4:
            r0 = cfg["input_resolution"]
            if cfg["input"] == "coord_const":
                m = input_rows(cfg)
                out += [(p + "input.input.input_column", (c, r0), "param"),
                        (p + "input.input.basis", (m, 2), "buffer"),
                        (p + "input.input.affine.weight", (c, wd), "param"),
                        (p + "input.input.affine.bias", (c,), "param")]
                cin = c + 2 * m
            else:
                out.append((p + "input.input", (c, r0, r0), "param"))
                cin = c
            out += _conv_layer(p + "conv1.", cin, c, wd, res)
        else:
            cp = width(cfg, r // 2)
            e = 0
            if cfg["coordinate_fusers"]:
                m = fuser_rows(cfg, r)
                out.append((p + "coords_fuser0.basis", (m, 2), "buffer"))
                e = 2 * m
            out += _conv_layer(p + "conv0.", cp + e, c, wd, res)
            out += _conv_layer(p + "conv1.", c, c, wd, res)
        out += _torgb(p + "torgb.", c, wd)
    out.append(("mapping.w_avg", (wd,), "buffer"))
    for i in range(cfg["mapping_layers"]):
        out += [(f"mapping.fc{i}.weight", (wd, cfg["z_dim"] if i == 0 else wd), "param"),
                (f"mapping.fc{i}.bias", (wd,), "param")]
    return out


def parameter_count(cfg):
    return sum(math.prod(shape) for _, shape, kind in state_dict_layout(cfg) if kind == "param")


def resample_filter():
    f = torch.tensor([1.0, 3.0, 3.0, 1.0])
    f = torch.outer(f, f)
    return f / f.sum()


def random_state_dict(cfg, generator, dtype=torch.float32):
    """Random weights in which every term matters: non-zero biases, noise strengths and w_avg,
    the fixed buffers as the official constructor makes them, and max_shift_strength = 1 (as in
    a trained checkpoint)."""
    def randn(*shape):
        return torch.randn(*shape, generator=generator, dtype=torch.float64)

    sd = OrderedDict()
    for key, shape, _ in state_dict_layout(cfg):
        leaf = key.rsplit(".", 1)[1]
        if key == "synthesis.max_shift_strength":
            v = torch.ones(1, dtype=torch.float64)
        elif leaf == "resample_filter":
            v = resample_filter().double()
        elif leaf == "basis":
            r = int(key.split(".")[1][1:])
            v = (logarithmic_basis(cfg["input_resolution"], width(cfg, 4), True) if "input" in key else
                 logarithmic_basis(running_resolution(cfg, r), COORD_DIMS[running_resolution(cfg, r)],
                                   cfg["remove_lowest_freq"])).double()
        elif leaf == "noise_strength":
            v = 0.3 * randn(())
        elif key.endswith("affine.bias"):
            v = (0.0 if ".input.input." in key else 1.0) + 0.2 * randn(*shape)
        elif leaf == "bias":
            v = 0.2 * randn(*shape)
        elif key == "mapping.w_avg":
            v = 0.5 * randn(*shape)
        elif key.startswith("mapping.") and leaf == "weight":
            v = randn(*shape) / cfg["mapping_lr"]
        else:
            v = randn(*shape)
        sd[key] = v.to(dtype)
    return sd


# ----------------------------------------------------------------------------------------------
# Mapping (spec 1.2)
# ----------------------------------------------------------------------------------------------

def lrelu(x, gain=SQRT2):
    return F.leaky_relu(x, LRELU_SLOPE) * gain


def fc(sd, prefix, x, lr=1.0, activation=False):
    w = sd[prefix + "weight"]
    y = x @ (w * (lr / math.sqrt(w.shape[1]))).t() + sd[prefix + "bias"] * lr
    return lrelu(y) if activation else y


def mapping(sd, cfg, z):
    x = z * (z.square().mean(dim=-1, keepdim=True) + 1e-8).rsqrt()
    for i in range(cfg["mapping_layers"]):
        x = fc(sd, f"mapping.fc{i}.", x, lr=cfg["mapping_lr"], activation=True)
    return x


def truncate(sd, w, psi):
    avg = sd["mapping.w_avg"]
    return avg + psi * (w - avg)


# ----------------------------------------------------------------------------------------------
# Spatially aligned modulation (spec 2.1) and coordinates (spec 1.5)
# ----------------------------------------------------------------------------------------------

def interpolate_styles(styles, delta, width_px, cfg):
    """styles [B, 3, C] (left, centre, right) -> Gamma [B, C, 1, W]: frame column j reads strip
    position s = delta * W / g + j; with w_dist = D * W / 2, t = ((s mod w_dist) + 1/2) / w_dist and
    Gamma(s) = lerp(left, centre, t) before w_dist, lerp(centre, right, t) from it on."""
    g, d = cfg["patches"], cfg["anchor_distance"]
    w_dist = int(d * width_px / 2)
    b = styles.shape[0]
    out = torch.empty(b, styles.shape[2], width_px, dtype=styles.dtype)
    for i in range(b):
        for j in range(width_px):
            s = int(delta[i]) * (width_px // g) + j
            a = s // w_dist
            assert a <= 1, "the frame reaches past the right anchor"
            t = ((s % w_dist) + 0.5) / w_dist
            out[i, :, j] = (1.0 - t) * styles[i, a] + t * styles[i, a + 1]
    return out.unsqueeze(2)


def coordinates(delta, size, cfg, dtype):
    """x (S) and y (S) of a frame at left border delta: x_j = 2 j / S - 1 + shift with
    shift = ((delta S/g - w_dist) / w_dist) D + 1 (anchor-relative: -D at the left anchor),
    y_i = 2 (S - 1 - i) / S - 1."""
    g, d = cfg["patches"], cfg["anchor_distance"]
    w_dist = int(d * size / 2)
    grid = torch.arange(size, dtype=dtype) / size * 2 - 1
    shift = ((int(delta) * (size // g) - w_dist) / w_dist) * d + 1.0
    return grid + shift, grid.flip(0)


def coordinate_embedding(basis, delta, size, cfg, dtype):
    """[B, 2m, S, S]: raw_k = B_k0 x + B_k1 y; channels [sin raw, cos raw]."""
    outs = []
    for i in range(len(delta)):
        x, y = coordinates(delta[i], size, cfg, dtype)
        raw = basis[:, 0].view(-1, 1, 1).to(dtype) * x.view(1, 1, -1) + basis[:, 1].view(-1, 1, 1).to(dtype) * y.view(
            1, -1, 1)
        outs.append(torch.cat([raw.sin(), raw.cos()], dim=0))
    return torch.stack(outs)


def patchwise(op, x, g):
    """Split the width into g patches, run op on each as its own image, concatenate back."""
    return torch.cat([op(p) for p in x.chunk(g, dim=3)], dim=3)


def fir(x, f, pad, gain):
    """Zero padding (x0, x1, y0, y1), then a depthwise 4x4 FIR times gain (the filter is symmetric)."""
    c = x.shape[1]
    x = F.pad(x, pad)
    k = (f * gain).to(x.dtype).flip([0, 1]).view(1, 1, 4, 4).repeat(c, 1, 1, 1)
    return F.conv2d(x, k, groups=c)


def upsample2d(x, f):
    """Zero insertion x2, pad (2, 1) on each axis, the FIR with gain 4."""
    b, c, h, w = x.shape
    up = torch.zeros(b, c, 2 * h, 2 * w, dtype=x.dtype)
    up[:, :, ::2, ::2] = x
    return fir(up, f, (2, 1, 2, 1), 4.0)


# ----------------------------------------------------------------------------------------------
# Layers (spec 1.6, 1.7)
# ----------------------------------------------------------------------------------------------

def anchor_styles(sd, prefix, w3, gain=1.0):
    """w3 [B, 3, w_dim] -> styles [B, 3, C] of the affine (bias init 1), times gain."""
    return fc(sd, prefix, w3) * gain


def synthesis_layer(sd, prefix, x, w3, delta, cfg, up, fp16, noise):
    styles = anchor_styles(sd, prefix + "affine.", w3)
    if fp16:
        styles = styles / styles.abs().amax(dim=2, keepdim=True)
    weight = sd[prefix + "weight"]
    x = x * interpolate_styles(styles, delta, x.shape[3], cfg)
    f = sd[prefix + "resample_filter"]
    if up:
        conv = lambda p: fir(F.conv_transpose2d(p, weight.transpose(0, 1), stride=2), f, (1, 1, 1, 1), 4.0)
    else:
        conv = lambda p: F.conv2d(p, weight, padding=1)
    y = patchwise(conv, x, cfg["patches"])
    y = y * (weight.square().sum(dim=[1, 2, 3]) + 1e-8).rsqrt().view(1, -1, 1, 1)
    if noise is not None:
        y = y + noise * sd[prefix + "noise_strength"]
    y = lrelu(y + sd[prefix + "bias"].view(1, -1, 1, 1))
    return y.clamp(-cfg["clamp"], cfg["clamp"])


def torgb(sd, prefix, x, w3, delta, cfg):
    weight = sd[prefix + "weight"]
    styles = anchor_styles(sd, prefix + "affine.", w3, 1.0 / math.sqrt(weight.shape[1]))
    x = x * interpolate_styles(styles, delta, x.shape[3], cfg)
    y = torch.einsum("oc,bchw->bohw", weight[:, :, 0, 0], x) + sd[prefix + "bias"].view(1, -1, 1, 1)
    return y.clamp(-cfg["clamp"], cfg["clamp"])


def synthesis_input(sd, cfg, w3, delta):
    p = "synthesis.b4.input.input"
    b = w3.shape[0]
    if cfg["input"] == "constant":
        return sd[p].unsqueeze(0).repeat(b, 1, 1, 1)
    column = sd[p + ".input_column"]  # [C, R0]: a vertical profile, the same in every column
    r0 = column.shape[1]
    styles = anchor_styles(sd, p + ".affine.", w3)
    latents = column.view(1, -1, r0, 1).expand(b, -1, r0, r0) * interpolate_styles(styles, delta, r0, cfg)
    return torch.cat([latents, coordinate_embedding(sd[p + ".basis"], delta, r0, cfg, w3.dtype)], dim=1)


def noise_for(noise, index, sd, prefix):
    if noise == "off":
        return None
    if noise == "const":
        return sd[prefix + "noise_const"]
    return noise[index]


def synthesis(sd, cfg, ws, delta, noise="off"):
    """ws [B, 3, num_ws, w_dim] (left, centre, right anchors), delta [B] -> image [B, 3, R, R]."""
    assert ws.shape[1] == 3 and ws.shape[2] == num_ws(cfg)
    delta = (sd["synthesis.max_shift_strength"].float() * torch.as_tensor(delta).float()).to(torch.int32)
    assert int(delta.min()) >= 0 and int(delta.max()) <= cfg["anchor_distance"] * cfg["patches"] - cfg["patches"]
    layer = 0
    x = img = None
    for r in block_resolutions(cfg):
        p = f"synthesis.b{r}."
        row = first_w(cfg, r)
        w = lambda i: ws[:, :, row + i]
        fp16 = fp16_block(cfg, r)
        if r == 4:
            x = synthesis_input(sd, cfg, w(0), delta)
            k = 1 if cfg["input"] == "coord_const" else 0  # the CoordConst input takes row 0
            x = synthesis_layer(sd, p + "conv1.", x, w(k), delta, cfg, False, fp16,
                                noise_for(noise, layer, sd, p + "conv1."))
            layer += 1
            img = torgb(sd, p + "torgb.", x, w(k + 1), delta, cfg)
            continue
        if cfg["coordinate_fusers"]:
            x = torch.cat([x, coordinate_embedding(sd[p + "coords_fuser0.basis"], delta, x.shape[2], cfg, x.dtype)],
                          dim=1)
        up = r > cfg["input_resolution"]
        x = synthesis_layer(sd, p + "conv0.", x, w(0), delta, cfg, up, fp16, noise_for(noise, layer, sd, p + "conv0."))
        x = synthesis_layer(sd, p + "conv1.", x, w(1), delta, cfg, False, fp16,
                            noise_for(noise, layer + 1, sd, p + "conv1."))
        layer += 2
        if up:
            img = patchwise(lambda q: upsample2d(q, sd[p + "resample_filter"]), img, cfg["patches"])
        img = img + torgb(sd, p + "torgb.", x, w(2), delta, cfg)
    return img


def conv_resolutions(cfg):
    """The side of every convolution's output (and noise map), in forward order."""
    out = []
    for r in block_resolutions(cfg):
        out += [running_resolution(cfg, r)] * (1 if r == 4 else 2)
    return out


def generate(sd, cfg, z3, delta, psi=1.0, noise="off"):
    """z3 [B, 3, z_dim] (left, centre, right) -> image: every anchor mapped, truncated toward w_avg
    and broadcast to every layer."""
    b = z3.shape[0]
    w = truncate(sd, mapping(sd, cfg, z3.reshape(b * 3, -1)), psi).view(b, 3, 1, -1)
    return synthesis(sd, cfg, w.expand(b, 3, num_ws(cfg), w.shape[-1]), delta, noise)


# ----------------------------------------------------------------------------------------------
# Self-checks
# ----------------------------------------------------------------------------------------------

def self_check():
    # Parameter counts of spec 7.
    assert parameter_count(default_config()) == 24111298, parameter_count(default_config())
    assert len(state_dict_layout(default_config())) == 142
    assert parameter_count(default_config(remove_lowest_freq=False)) == 24278770
    assert parameter_count(default_config(input_resolution=16, patches=16)) == 24240346
    assert parameter_count(default_config(coordinate_fusers=False)) == 23489002
    assert parameter_count(default_config(coordinate_fusers=False, input="constant")) == 23191522
    assert num_ws(default_config()) == 15
    # Basis rows of spec 1.5 (and the b8 rows in units of pi).
    assert [fuser_rows(default_config(), r) for r in (8, 16, 32, 64, 128, 256)] == [8, 12, 16, 20, 24, 28]
    assert input_rows(default_config()) == 4
    b8 = logarithmic_basis(8, 32, True) / math.pi
    want = torch.tensor([[0, 1], [0, 2], [1, 0], [2, 0], [-.5, .5], [-1, 1], [.5, .5], [1, 1]], dtype=torch.float32)
    assert torch.allclose(b8, want, atol=1e-6)
    # D = 4: x = 2 (delta S/g + j) / S - D: -D at the left anchor, 0 at the centre, D at the right.
    for delta in range(7):
        x, y = coordinates(delta, 8, default_config(), torch.float64)
        want = torch.tensor([2 * (delta * 4 + j) / 8 - 4.0 for j in range(8)], dtype=torch.float64)
        assert torch.allclose(x, want, atol=1e-12) and float(y[0]) == 1 - 2 / 8 and float(y[-1]) == -1
    # Patch independence: the right half at delta equals the left half at delta + 1 (spec 5).
    cfg = default_config(size=16, z_dim=8, w_dim=8, channel_base=128, channel_max=8)
    gen = torch.Generator().manual_seed(1)
    sd = OrderedDict((k, v.double()) for k, v in random_state_dict(cfg, gen).items())
    z3 = torch.randn(1, 3, 8, generator=gen, dtype=torch.float64)
    a = generate(sd, cfg, z3, [2])
    b = generate(sd, cfg, z3, [3])
    assert torch.equal(a[..., 8:], b[..., :8])
    assert not torch.equal(a[..., :8], b[..., :8])
    print("alis_reference self-check ok")


if __name__ == "__main__":
    if "--self-check" in sys.argv:
        self_check()
