#!/usr/bin/python3
"""Independent plain-PyTorch reference of the CREPS generator (G_ema), written from the project spec
(/work/shared/spec/creps.md); no code from the official repository is used.

Everything is a function of a state dict keyed by the official names (`synthesis.*`, `mapping.*`),
so a converted official checkpoint can be fed in directly.  The synthesis keeps the official
tensor layout: every bi-line block works on x [B, C, N, 2D] (slot m < D: rows, m >= D: columns)
and every feature map is [B, C, H, W].  Rows and columns may have different coordinate vectors:
the network runs once with the row coordinates and once with the column coordinates, and the row
halves of the first run meet the column halves of the second in the outer product.  With equal
vectors that is exactly the official forward (spec 1.10: the halves never interact before it).

cfg keys: size, z_dim, w_dim, mapping_layers, mapping_lr, channel_base, channel_max,
biline_channels (K), thickness (D), bandwidth, clamp, features ('biline' | 'dense'),
fusion ('layer_wise' | 'final'), refinement_blocks (0, 1 or 2).  The official `--cfg=creps` is
default_config().  'dense' and 'final' are the paper's ablations as pixsyn defines them
(docs/creps.md): CREPS-NB (dense 2D features, no per-level decoders) and the single decoder
(the accumulated bi-line composed once, at the end).

Precision: the forward computes in the dtype of the state dict it is given, except the Fourier
phases, which are always formed in float32 as the official code forms them (three correctly rounded
float32 operations; the phases reach hundreds of radians, so their rounding is part of the model).
`refinement='fp16'` emulates the official fp16 refinement blocks (block0, block1) as the CUDA
bias_act kernel runs them (spec 1.3, 1.8): float32 style/weight folding with StyleGAN3's fp16
pre-normalisation, weights and activations rounded to fp16, products accumulated in float64 here
(float32 on the GPU), and the bias + activation + clamp computed in float32 and rounded once.

Run `/usr/bin/python3 tools/reference/creps_reference.py --self-check` for the self-checks.
"""

import math
import sys
from collections import OrderedDict

import torch

SQRT2 = math.sqrt(2.0)
SQRT_HALF = math.sqrt(0.5)
LRELU_SLOPE = 0.2


# ----------------------------------------------------------------------------------------------
# Configuration (spec 0)
# ----------------------------------------------------------------------------------------------

def default_config(**overrides):
    cfg = dict(size=256, z_dim=512, w_dim=512, mapping_layers=8, mapping_lr=0.01, channel_base=65536,
               channel_max=1024, biline_channels=32, thickness=8, bandwidth=10.0, clamp=256.0,
               features="biline", fusion="layer_wise", refinement_blocks=2)
    cfg.update(overrides)
    assert cfg["features"] in ("biline", "dense") and cfg["fusion"] in ("layer_wise", "final")
    assert not (cfg["features"] == "dense" and cfg["fusion"] == "layer_wise"), "dense features have no decoders"
    assert cfg["refinement_blocks"] in (0, 1, 2)
    log2(cfg["size"])
    return cfg


def log2(size):
    n = int(round(math.log2(size)))
    if 2 ** n != size or n < 3:
        raise ValueError("size must be a power of two >= 8, got %r" % (size,))
    return n


def resolutions(cfg):
    return [2 ** i for i in range(2, log2(cfg["size"]) + 1)]


def width(cfg, r):
    return min(cfg["channel_base"] // r, cfg["channel_max"])


def num_ws(cfg):
    return 2 * log2(cfg["size"]) - 1


def refinement_layers(cfg):
    """(name, in, out) of the refinement blocks: block0 K -> 4K, block1 4K -> 2K."""
    K = cfg["biline_channels"]
    return [("block0", K, 4 * K), ("block1", 4 * K, 2 * K)][:cfg["refinement_blocks"]]


def has_level_decoders(cfg):
    return cfg["features"] == "biline" and cfg["fusion"] == "layer_wise"


# ----------------------------------------------------------------------------------------------
# State dict layout (spec 4): parameters, then buffers, then children, per module
# ----------------------------------------------------------------------------------------------

def _layer(prefix, cin, cout, w_dim):
    return [(prefix + "weight", (cout, cin)), (prefix + "bias", (cout,)),
            (prefix + "affine.weight", (cin, w_dim)), (prefix + "affine.bias", (cin,))]


def _mlp(prefix, K):
    dims = [K, 2 * K, 4 * K, 2 * K, K]
    items = []
    for i in range(4):
        items += [(prefix + "%d.weight" % i, (dims[i + 1], dims[i])), (prefix + "%d.bias" % i, (dims[i + 1],))]
    return items


def state_dict_shapes(cfg):
    """OrderedDict key -> shape with the official names, in the official state_dict order."""
    R, W, K, D = cfg["size"], cfg["w_dim"], cfg["biline_channels"], cfg["thickness"]
    C4 = width(cfg, 4)
    dense = cfg["features"] == "dense"
    items = [("synthesis.b4.input.weight", (1, C4, 1, 1 if dense else 2 * D)),
             ("synthesis.b4.input.freqs", (2, C4 // 2) if dense else (1, C4 // 2 * D)),
             ("synthesis.b4.input.coords", (1, R, 2, 1)),
             ("synthesis.b4.input.affine.weight", (C4 * (1 if dense else 2 * D), W)),
             ("synthesis.b4.input.affine.bias", (C4 * (1 if dense else 2 * D),))]
    items += _layer("synthesis.b4.fc1.", C4, C4, W)
    items += _layer("synthesis.b4.tores.", C4, K, W)  # built, never run (spec 1.9)
    for r in resolutions(cfg)[1:]:
        cin, cout = width(cfg, r // 2), width(cfg, r)
        items += _layer("synthesis.b%d.fc0." % r, cin, cout, W)
        items += _layer("synthesis.b%d.fc1." % r, cout, cout, W)
        items += _layer("synthesis.b%d.tores." % r, cout, K, W)
    if has_level_decoders(cfg):
        for r in resolutions(cfg)[1:]:  # decoder_8 is built and never run
            items += _mlp("synthesis.decoder_%d." % r, K)
    items += _mlp("synthesis.decoder_last.", K)
    items += [("synthesis.decoder_img.weight", (3, K)), ("synthesis.decoder_img.bias", (3,))]
    for name, cin, cout in refinement_layers(cfg):
        items += _layer("synthesis.%s.fc0." % name, cin, cout, W)
        items += _layer("synthesis.%s.fc1." % name, cout, cout, W)
        items += _layer("synthesis.%s.tores." % name, cout, 3, W)
    items.append(("mapping.w_avg", (W,)))
    for i in range(cfg["mapping_layers"]):
        items += [("mapping.fc%d.weight" % i, (W, cfg["z_dim"] if i == 0 else W)), ("mapping.fc%d.bias" % i, (W,))]
    return OrderedDict(items)


BUFFERS = ("synthesis.b4.input.freqs", "synthesis.b4.input.coords", "mapping.w_avg")


def parameter_count(cfg):
    return sum(math.prod(s) for k, s in state_dict_shapes(cfg).items() if k not in BUFFERS)


def random_state_dict(cfg, generator, dtype=torch.float32):
    """Random weights with every term non-trivial: N(0,1) weights (mapping N(0,1)/lr as stored),
    affine biases 1 + 0.2 N(0,1), other biases 0.3 N(0,1) (mapping 10 N(0,1), i.e. 0.1 effective),
    freqs N(0,1) * bandwidth, w_avg 0.5 N(0,1), coords linspace(0, 1, size) in both slots."""
    def randn(*shape):
        return torch.randn(*shape, generator=generator, dtype=torch.float64)

    sd = OrderedDict()
    for key, shape in state_dict_shapes(cfg).items():
        if key.endswith("input.freqs"):
            v = randn(*shape) * cfg["bandwidth"]
        elif key.endswith("input.coords"):
            v = torch.linspace(0, 1, cfg["size"], dtype=torch.float32).double().reshape(1, -1, 1, 1).repeat(1, 1, 2, 1)
        elif key == "mapping.w_avg":
            v = randn(*shape) * 0.5
        elif key.startswith("mapping.") and key.endswith(".weight"):
            v = randn(*shape) / cfg["mapping_lr"]
        elif key.startswith("mapping."):
            v = randn(*shape) * 10.0
        elif key.endswith("affine.bias"):
            v = 1.0 + 0.2 * randn(*shape)
        elif key.endswith("bias"):
            v = 0.3 * randn(*shape)
        else:
            v = randn(*shape)
        sd[key] = v.to(dtype)
    return sd


# ----------------------------------------------------------------------------------------------
# Mapping (spec 1.1)
# ----------------------------------------------------------------------------------------------

def lrelu(x, gain=SQRT2):
    return torch.where(x >= 0, x, x * LRELU_SLOPE) * gain


def fc(sd, prefix, x, activation="linear", lr=1.0):
    """FullyConnectedLayer: x W^T * lr/sqrt(in) + b * lr, then lrelu * sqrt(2) if asked."""
    w, b = sd[prefix + "weight"], sd[prefix + "bias"]
    y = x @ (w * (lr / math.sqrt(w.shape[1]))).t() + b * lr
    return lrelu(y) if activation == "lrelu" else y


def mapping(sd, cfg, z):
    x = z * (z.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()
    for i in range(cfg["mapping_layers"]):
        x = fc(sd, "mapping.fc%d." % i, x, "lrelu", cfg["mapping_lr"])
    return x


def truncate(sd, w, psi):
    w_avg = sd["mapping.w_avg"]
    return w_avg + psi * (w - w_avg)


# ----------------------------------------------------------------------------------------------
# Synthesis (spec 1.2 - 1.8)
# ----------------------------------------------------------------------------------------------

def ws_indices(cfg):
    """For each layer of the synthesis, the index of its w (spec 1.2)."""
    idx = {"b4.input": 0, "b4.fc1": 1}
    for k in range(3, log2(cfg["size"]) + 1):
        r = 2 ** k
        idx["b%d.fc0" % r], idx["b%d.fc1" % r], idx["b%d.tores" % r] = 2 * k - 5, 2 * k - 4, 2 * k - 3
    return idx


def modulated_fc(x, weight, styles, demodulate):
    """x [B, I, H, W] -> [B, O, H, W] (spec 1.3)."""
    w = weight.unsqueeze(0) * styles.unsqueeze(1)
    if demodulate:
        w = w * (w.square().sum(dim=2) + 1e-8).rsqrt().unsqueeze(2)
    return torch.einsum("bihw,boi->bohw", x, w)


def clamp(x, c):
    return x.clamp(-c, c)


def synthesis_layer(sd, prefix, x, w, cfg):
    y = modulated_fc(x, sd[prefix + "weight"], fc(sd, prefix + "affine.", w), True)
    return clamp(lrelu(y + sd[prefix + "bias"].reshape(1, -1, 1, 1)), cfg["clamp"])


def tores_layer(sd, prefix, x, w, cfg):
    weight = sd[prefix + "weight"]
    styles = fc(sd, prefix + "affine.", w) / math.sqrt(weight.shape[1])
    y = modulated_fc(x, weight, styles, False)
    return clamp(y + sd[prefix + "bias"].reshape(1, -1, 1, 1), cfg["clamp"])


def phases(t, f):
    """theta = fl32(fl32(t * f) * fl32(2 pi)) and its +pi/2 shift in float32 (spec 1.4), as float64."""
    t32, f32 = t.float(), f.float()
    theta = (t32.reshape(-1, 1) * f32.reshape(1, -1)) * torch.tensor(2 * math.pi, dtype=torch.float32)
    return theta.double(), (theta + torch.tensor(math.pi / 2, dtype=torch.float32)).double()


def biline_input(sd, cfg, w, t):
    """x0 [B, C, N, 2D] for coordinates t (N) written into both slots (spec 1.4)."""
    C, D = width(cfg, 4), cfg["thickness"]
    theta, shifted = phases(t, sd["synthesis.b4.input.freqs"])  # [N, C/2 * D], index c' * D + d
    N = t.numel()
    theta = theta.reshape(N, C // 2, D).permute(1, 0, 2)  # [C/2, N, D]
    shifted = shifted.reshape(N, C // 2, D).permute(1, 0, 2)
    e = torch.cat([theta.sin(), shifted.sin()], dim=0)  # [C, N, D]: sin channels, then "cos" channels
    e = torch.cat([e, e], dim=2).unsqueeze(0)  # both slots see the same t: [1, C, N, 2D]
    a = fc(sd, "synthesis.b4.input.affine.", w).reshape(w.shape[0], C, 1, 2 * D)
    weight = sd["synthesis.b4.input.weight"] * a
    return e.to(w.dtype) * weight / math.sqrt(C)


def dense_input(sd, cfg, w, rows, cols):
    """x0 [B, C, H, W] of CREPS-NB: 2D Fourier features with phase theta_row(i) + theta_col(j)."""
    C = width(cfg, 4)
    f = sd["synthesis.b4.input.freqs"]  # [2, C/2]: row frequencies, column frequencies
    tr, _ = phases(rows, f[0])
    tc, _ = phases(cols, f[1])
    theta = tr.float().t().unsqueeze(2) + tc.float().t().unsqueeze(1)  # [C/2, H, W], float32 sum
    shifted = theta + torch.tensor(math.pi / 2, dtype=torch.float32)
    e = torch.cat([theta.double().sin(), shifted.double().sin()], dim=0).unsqueeze(0)
    a = fc(sd, "synthesis.b4.input.affine.", w).reshape(w.shape[0], C, 1, 1)
    weight = sd["synthesis.b4.input.weight"] * a
    return e.to(w.dtype) * weight / math.sqrt(C)


def blocks(sd, cfg, ws, x):
    """Runs b4 .. bR on x0; returns the accumulated res S_r of every bi-line level r = 8 .. R."""
    idx = ws_indices(cfg)
    x = synthesis_layer(sd, "synthesis.b4.fc1.", x, ws[:, idx["b4.fc1"]], cfg)
    res, levels = None, []
    for r in resolutions(cfg)[1:]:
        for name in ("fc0", "fc1"):
            x = synthesis_layer(sd, "synthesis.b%d.%s." % (r, name), x, ws[:, idx["b%d.%s" % (r, name)]], cfg)
        y = tores_layer(sd, "synthesis.b%d.tores." % r, x, ws[:, idx["b%d.tores" % r]], cfg)
        res = y if res is None else res + y
        levels.append(res)
    return levels


def decoder(sd, prefix, f):
    """The 4-layer lrelu MLP on [B, K, H, W] features (channels mixed per pixel)."""
    x = f.permute(0, 2, 3, 1)
    for i in range(4):
        x = fc(sd, prefix + "%d." % i, x, "lrelu")
    return x.permute(0, 3, 1, 2)


def round16(x):
    return x.to(torch.float16).to(x.dtype)


def refinement_fp16(sd, cfg, feature, img, w):
    """block0/block1 as the official fp16 path with the CUDA bias_act kernel (see the module doc)."""
    f32 = torch.float32
    x = round16(feature)
    for name, cin, cout in refinement_layers(cfg):
        for layer in ("fc0", "fc1"):
            p = "synthesis.%s.%s." % (name, layer)
            weight = sd[p + "weight"].to(f32)
            styles = fc(sd, p + "affine.", w).to(f32)
            # StyleGAN3's pre-normalisation of demodulated fp16 layers, in float32.
            weight = weight * (torch.tensor(1 / math.sqrt(weight.shape[1]), dtype=f32) /
                               weight.abs().amax(dim=1, keepdim=True))
            styles = styles / styles.abs().amax(dim=1, keepdim=True)
            wm = weight.unsqueeze(0) * styles.unsqueeze(1)
            wm = wm * (wm.square().sum(dim=2) + 1e-8).rsqrt().unsqueeze(2)
            y = round16(torch.einsum("bihw,boi->bohw", x, round16(wm.to(x.dtype))))
            b = round16(sd[p + "bias"].to(f32)).to(x.dtype)
            x = round16(clamp(lrelu(y + b.reshape(1, -1, 1, 1)), cfg["clamp"]).to(f32).to(x.dtype))
        p = "synthesis.%s.tores." % name
        weight = sd[p + "weight"].to(f32)
        styles = fc(sd, p + "affine.", w).to(f32) * torch.tensor(1 / math.sqrt(weight.shape[1]), dtype=f32)
        wm = weight.unsqueeze(0) * styles.unsqueeze(1)
        y = round16(torch.einsum("bihw,boi->bohw", x, round16(wm.to(x.dtype))))
        b = round16(sd[p + "bias"].to(f32)).to(x.dtype)
        img = img + round16(clamp(y + b.reshape(1, -1, 1, 1), cfg["clamp"]).to(f32).to(x.dtype))
    return img


def refine(sd, cfg, feature, img, w, refinement="fp32"):
    """The refinement blocks on features [B, K, H, W] and RGB [B, 3, H, W], all with one w (spec 1.8)."""
    if refinement == "fp16":
        return refinement_fp16(sd, cfg, feature, img, w)
    x = feature
    for name, _, _ in refinement_layers(cfg):
        x = synthesis_layer(sd, "synthesis.%s.fc0." % name, x, w, cfg)
        x = synthesis_layer(sd, "synthesis.%s.fc1." % name, x, w, cfg)
        img = img + tores_layer(sd, "synthesis.%s.tores." % name, x, w, cfg)
    return img


def head(sd, cfg, feature, ws, refinement="fp32"):
    """decoder_last, decoder_img and the refinement blocks with the last w (spec 1.7, 1.8)."""
    feature = decoder(sd, "synthesis.decoder_last.", feature)
    img = fc(sd, "synthesis.decoder_img.", feature.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    return refine(sd, cfg, feature, img, ws[:, -1], refinement)


def synthesis(sd, cfg, ws, rows, cols, refinement="fp32"):
    """ws [B, num_ws, w_dim], row coordinates rows (H) and column coordinates cols (W) -> [B, 3, H, W]."""
    D = cfg["thickness"]
    if cfg["features"] == "dense":
        x = dense_input(sd, cfg, ws[:, 0], rows, cols)
        return head(sd, cfg, blocks(sd, cfg, ws, x)[-1], ws, refinement)
    row_levels = blocks(sd, cfg, ws, biline_input(sd, cfg, ws[:, 0], rows))
    col_levels = blocks(sd, cfg, ws, biline_input(sd, cfg, ws[:, 0], cols))

    def compose(level):  # spec 1.6: rows from the row run's slot 0, columns from the column run's slot 1
        u = row_levels[level][..., :D] * SQRT_HALF
        v = col_levels[level][..., D:] * SQRT_HALF
        return u @ v.transpose(-2, -1)  # [B, K, H, W]

    if cfg["fusion"] == "final":
        feature = compose(len(row_levels) - 1)
    else:
        feature = compose(0)
        for level, r in enumerate(resolutions(cfg)[2:], start=1):
            feature = decoder(sd, "synthesis.decoder_%d." % r, feature) + compose(level)
    return head(sd, cfg, feature, ws, refinement)


def generate(sd, cfg, z, rows, cols, psi=1.0, refinement="fp32"):
    w = truncate(sd, mapping(sd, cfg, z), psi)
    ws = w.unsqueeze(1).repeat(1, num_ws(cfg), 1)
    return synthesis(sd, cfg, ws, rows, cols, refinement)


def points_by_diagonal(sd, cfg, ws, ys, xs, refinement="fp32"):
    """Pixel (y_k, x_k) for every k by the official trick (spec 2): render the P x P grid with ys as
    rows and xs as columns and keep its diagonal. -> [B, P, 3]."""
    img = synthesis(sd, cfg, ws, ys, xs, refinement)
    k = torch.arange(ys.numel())
    return img[:, :, k, k].permute(0, 2, 1)


# ----------------------------------------------------------------------------------------------
# Self-checks
# ----------------------------------------------------------------------------------------------

def self_check():
    # Parameter and key counts of the official configuration (spec 4).
    for size, params, keys in ((256, 30530825, 184), (512, 30867785, 204), (1024, 31034377, 224)):
        cfg = default_config(size=size)
        shapes = state_dict_shapes(cfg)
        assert len(shapes) == keys, (size, len(shapes))
        assert parameter_count(cfg) == params, (size, parameter_count(cfg))
    assert num_ws(default_config(size=256)) == 15 and num_ws(default_config(size=512)) == 17
    idx = ws_indices(default_config(size=256))
    assert idx["b8.fc0"] == 1 and idx["b256.fc0"] == 11 and idx["b256.tores"] == 13

    g = torch.Generator().manual_seed(1)
    cfg = default_config(size=16, z_dim=16, w_dim=16, mapping_layers=2, channel_base=256, channel_max=32,
                         biline_channels=8, thickness=4)
    sd = OrderedDict((k, v.double()) for k, v in random_state_dict(cfg, g).items())
    z = torch.randn(2, 16, generator=g, dtype=torch.float64)
    ws = mapping(sd, cfg, z).unsqueeze(1).repeat(1, num_ws(cfg), 1)
    rows = torch.linspace(0, 1, 9)
    cols = torch.linspace(0.2, 0.8, 7)
    img = synthesis(sd, cfg, ws, rows, cols)
    assert img.shape == (2, 3, 9, 7)
    # A tile of rows/columns is the crop of the full image (pixels are independent).
    tile = synthesis(sd, cfg, ws, rows[2:5], cols[1:6])
    assert torch.allclose(tile, img[:, :, 2:5, 1:6], rtol=0, atol=1e-12)
    # The diagonal trick reproduces grid pixels.
    pts = points_by_diagonal(sd, cfg, ws, rows[[0, 4, 8]], cols[[6, 3, 0]])
    for k, (i, j) in enumerate(((0, 6), (4, 3), (8, 0))):
        assert torch.allclose(pts[:, k], img[:, :, i, j], rtol=0, atol=1e-12)
    # The fp16 emulation stays close to fp32 and differs from it.
    img16 = synthesis(sd, cfg, ws, rows, cols, refinement="fp16")
    diff = (img16 - img).abs().max().item()
    assert 0 < diff < 0.05 * img.abs().max().item(), diff
    for features, fusion in (("biline", "final"), ("dense", "final")):
        c = dict(cfg, features=features, fusion=fusion)
        sdc = OrderedDict((k, v.double()) for k, v in random_state_dict(c, g).items())
        out = synthesis(sdc, c, ws, rows, cols)
        assert out.shape == (2, 3, 9, 7) and torch.isfinite(out).all()
        tile = synthesis(sdc, c, ws, rows[2:5], cols[1:6])
        assert torch.allclose(tile, out[:, :, 2:5, 1:6], rtol=0, atol=1e-12)
    print("creps_reference self-check ok")


if __name__ == "__main__":
    if "--self-check" in sys.argv:
        self_check()
    else:
        print(__doc__)
