#!/usr/bin/python3
"""Independent plain-PyTorch reference of the CIPS generator forward pass (g_ema / eval path).

Written from the project spec (/work/shared/spec/cips.md, sections 1-6 and 12); no code from the
official repository is used.  Everything is a function on a state dict keyed by the official
parameter names, so a released g_ema checkpoint (converted to a plain dict of tensors) can be fed
in directly.

Conventions
-----------
* cfg: a dict with keys variant ('skips' | 'residual'), size, hidden_size, style_dim, n_mlp,
  channel_multiplier, max_channels (None = no cap) and optionally channels (an explicit table that
  overrides the formula).  `resolve_channels(cfg)` returns channels[0 .. L-2], the only entries a
  generator of output size S = 2**L ever reads.
* Every forward works in the dtype of the tensors it is given; the fixture generator casts all
  parameters and inputs to float64 after rounding them to float32.
* Noise: an optional list of 2L-1 maps of shape (B, 1, H, W), one per StyledConv in forward order
  (CIPSskip: conv1, linears.0 .. linears.{2L-3}; CIPSres: linears.0, linears.1.conv1,
  linears.1.conv2, ..., linears.{L-1}.conv2).  None means no noise (identical to zero maps).

Run `/usr/bin/python3 tools/reference/cips_reference.py --self-check` for the self-checks.
"""

import math
import sys
from collections import OrderedDict

import torch
import torch.nn.functional as F

SQRT2 = math.sqrt(2.0)
LRELU_SLOPE = 0.2
LR_MUL_MAPPING = 0.01
PIXELNORM_EPS = 1e-8
DEMOD_EPS = 1e-8

VARIANTS = ("skips", "residual")


# ----------------------------------------------------------------------------------------------
# Configuration / channel table (spec 1.1, 1.2)
# ----------------------------------------------------------------------------------------------

def default_config(**overrides):
    cfg = dict(variant="skips", size=256, hidden_size=512, style_dim=512, n_mlp=8,
               channel_multiplier=2, max_channels=None, channels=None)
    cfg.update(overrides)
    if cfg["variant"] not in VARIANTS:
        raise ValueError("variant must be one of %s" % (VARIANTS,))
    return cfg


def log_size(size):
    L = int(round(math.log2(size)))
    if 2 ** L != size or L < 2:
        raise ValueError("size must be a power of two >= 4, got %r" % (size,))
    return L


def channel_table(variant, channel_multiplier):
    """Official table channels[i] for block index i = 0..8 (spec 1.1 / 1.2)."""
    cm = channel_multiplier
    table = [512, 512, 512, 512, 256 * cm, 128 * cm, 64 * cm, 32 * cm, 16 * cm]
    if variant == "residual":
        table[7] = 64 * cm
        table[8] = 32 * cm
    return table


def resolve_channels(cfg):
    """channels[0 .. L-2] for the config: explicit table if given, else min(table, max_channels)."""
    L = log_size(cfg["size"])
    n = L - 1
    if cfg.get("channels") is not None:
        ch = [int(c) for c in cfg["channels"]]
        if len(ch) < n:
            raise ValueError("explicit channel table needs %d entries, got %d" % (n, len(ch)))
        return ch[:n]
    table = channel_table(cfg["variant"], cfg["channel_multiplier"])
    if n > len(table):
        raise ValueError("size %d exceeds the official channel table" % cfg["size"])
    ch = [int(c) for c in table[:n]]
    if cfg.get("max_channels") is not None:
        ch = [min(c, int(cfg["max_channels"])) for c in ch]
    return ch


# ----------------------------------------------------------------------------------------------
# State dict layout (spec 6)
# ----------------------------------------------------------------------------------------------

def _styled_conv_shapes(prefix, cin, cout, style_dim):
    return [
        (prefix + "conv.weight", (1, cout, cin, 1, 1)),
        (prefix + "conv.modulation.weight", (cin, style_dim)),
        (prefix + "conv.modulation.bias", (cin,)),
        (prefix + "noise.weight", (1,)),
        (prefix + "activate.bias", (cout,)),
    ]


def _to_rgb_shapes(prefix, cin, style_dim):
    # Within a ToRGB the own bias is registered before the conv submodule.
    return [
        (prefix + "bias", (1, 3, 1, 1)),
        (prefix + "conv.weight", (1, 3, cin, 1, 1)),
        (prefix + "conv.modulation.weight", (cin, style_dim)),
        (prefix + "conv.modulation.bias", (cin,)),
    ]


def state_dict_shapes(cfg):
    """OrderedDict key -> shape with the official key names, in the saved order."""
    S, hid, sd = cfg["size"], cfg["hidden_size"], cfg["style_dim"]
    L = log_size(S)
    ch = resolve_channels(cfg)
    items = [
        ("lff.ffm.conv.weight", (hid, 2, 1, 1)),
        ("lff.ffm.conv.bias", (hid,)),
        ("emb.input", (1, hid, S, S)),
    ]
    if cfg["variant"] == "skips":
        items += _styled_conv_shapes("conv1.", 2 * hid, ch[0], sd)
        cin = ch[0]
        for i in range(L - 1):
            items += _styled_conv_shapes("linears.%d." % (2 * i), cin, ch[i], sd)
            items += _styled_conv_shapes("linears.%d." % (2 * i + 1), ch[i], ch[i], sd)
            cin = ch[i]
        for i in range(L - 1):
            items += _to_rgb_shapes("to_rgbs.%d." % i, ch[i], sd)
    else:
        items += _styled_conv_shapes("linears.0.", 2 * hid, ch[0], sd)
        cin = ch[0]
        for i in range(L - 1):
            p = "linears.%d." % (i + 1)
            items += _styled_conv_shapes(p + "conv1.", cin, ch[i], sd)
            items += _styled_conv_shapes(p + "conv2.", ch[i], ch[i], sd)
            if cin != ch[i]:
                items.append((p + "skip.0.weight", (ch[i], cin, 1, 1)))
            cin = ch[i]
        items += _to_rgb_shapes("to_rgb_last.", ch[L - 2], sd)
    for j in range(1, cfg["n_mlp"] + 1):
        items.append(("style.%d.weight" % j, (sd, sd)))
        items.append(("style.%d.bias" % j, (sd,)))
    return OrderedDict(items)


def parameter_count(cfg):
    return sum(math.prod(s) for s in state_dict_shapes(cfg).values())


def random_state_dict(cfg, generator=None, dtype=torch.float32):
    """Randomly initialised state dict with every parameter non-trivial.

    Magnitudes follow the official initialisation where it is already non-degenerate and replace
    the zero/one inits by moderate random values so every term of the forward matters:
      lff weight U(-sqrt(9/2), sqrt(9/2)), bias U(-1/sqrt2, 1/sqrt2) (official init);
      emb.input N(0,1); conv/modulation/skip/style weights N(0,1) (style weights N(0,1)/lr_mul);
      modulation biases 1 + 0.25 N(0,1); activate biases 0.2 N(0,1); noise weights 0.3 N(0,1);
      ToRGB biases 0.2 N(0,1); mapping biases stored 20 N(0,1) (runtime 0.2 N(0,1)).
    """
    g = generator

    def randn(shape):
        return torch.randn(shape, generator=g, dtype=torch.float64)

    def rand_uniform(shape, a):
        return (torch.rand(shape, generator=g, dtype=torch.float64) * 2.0 - 1.0) * a

    sd = OrderedDict()
    for key, shape in state_dict_shapes(cfg).items():
        if key == "lff.ffm.conv.weight":
            t = rand_uniform(shape, math.sqrt(9.0 / 2.0))
        elif key == "lff.ffm.conv.bias":
            t = rand_uniform(shape, 1.0 / math.sqrt(2.0))
        elif key == "emb.input":
            t = randn(shape)
        elif key.startswith("style."):
            if key.endswith(".weight"):
                t = randn(shape) / LR_MUL_MAPPING
            else:
                t = randn(shape) * 20.0
        elif key.endswith("conv.modulation.weight"):
            t = randn(shape)
        elif key.endswith("conv.modulation.bias"):
            t = 1.0 + 0.25 * randn(shape)
        elif key.endswith("conv.weight") or key.endswith("skip.0.weight"):
            t = randn(shape)
        elif key.endswith("noise.weight"):
            t = 0.3 * randn(shape)
        elif key.endswith("activate.bias"):
            t = 0.2 * randn(shape)
        elif key.endswith(".bias") and (key.startswith("to_rgbs.") or key.startswith("to_rgb_last.")):
            t = 0.2 * randn(shape)
        else:
            raise KeyError("no init rule for " + key)
        sd[key] = t.to(dtype).contiguous()
    return sd


# ----------------------------------------------------------------------------------------------
# Building blocks (spec 2-5)
# ----------------------------------------------------------------------------------------------

def leaky_relu_scaled(x):
    """FusedLeakyReLU tail: leaky_relu(x, 0.2) * sqrt(2) (scale on both branches)."""
    return torch.where(x >= 0, x, x * LRELU_SLOPE) * SQRT2


def pixel_norm(z):
    return z * torch.rsqrt(torch.mean(z * z, dim=1, keepdim=True) + PIXELNORM_EPS)


def mapping(sd, z, n_mlp):
    """z (B, style_dim) -> w (B, style_dim).  Mapping keys style.1 .. style.n_mlp."""
    x = pixel_norm(z)
    for j in range(1, n_mlp + 1):
        W = sd["style.%d.weight" % j]
        b = sd["style.%d.bias" % j]
        w_rt = W * (LR_MUL_MAPPING / math.sqrt(W.shape[1]))
        x = leaky_relu_scaled(x @ w_rt.t() + b * LR_MUL_MAPPING)
    return x


def truncate(w, mean_w, psi):
    """Truncation in w space: mean_w + psi * (w - mean_w)."""
    if psi == 1:
        return w
    return mean_w.unsqueeze(0) + psi * (w - mean_w.unsqueeze(0))


def coord_grid(batch, height, width, dtype=torch.float32):
    """(B, 2, H, W): channel 0 = x = linspace(-1,1,W) along columns, channel 1 = y along rows.

    The linspace values are computed by torch in float32 (as the official code does) and only
    then converted to `dtype`.
    """
    xs = torch.linspace(-1.0, 1.0, width, dtype=torch.float32)
    ys = torch.linspace(-1.0, 1.0, height, dtype=torch.float32)
    gx = xs.view(1, width).expand(height, width)
    gy = ys.view(height, 1).expand(height, width)
    grid = torch.stack([gx, gy], dim=0).unsqueeze(0).expand(batch, 2, height, width)
    return grid.to(dtype).contiguous()


def fourier_features(sd, coords):
    """sin(W[c,0] x + W[c,1] y + b[c]) with plain (non-equalised) 1x1 conv weights."""
    W = sd["lff.ffm.conv.weight"][:, :, 0, 0]  # (hidden, 2)
    b = sd["lff.ffm.conv.bias"]
    y = torch.einsum("ck,bkhw->bchw", W, coords) + b.view(1, -1, 1, 1)
    return torch.sin(y)


def embedding(sd, coords):
    """Bilinear grid_sample of emb.input, border padding, align_corners=False (g_ema path)."""
    table = sd["emb.input"]
    B = coords.shape[0]
    table = table.expand(B, -1, -1, -1)
    grid = coords.permute(0, 2, 3, 1)  # (B, H, W, 2): [..., 0] = x (width), [..., 1] = y (height)
    return F.grid_sample(table, grid, mode="bilinear", padding_mode="border", align_corners=False)


def modulation_style(sd, prefix, w):
    """Affine 'A': s = w (M / sqrt(style_dim))^T + m_bias, shape (B, in)."""
    M = sd[prefix + "conv.modulation.weight"]  # (in, style_dim)
    mb = sd[prefix + "conv.modulation.bias"]
    return w @ (M / math.sqrt(M.shape[1])).t() + mb.unsqueeze(0)


def modulated_fc(sd, prefix, x, w, demodulate):
    """1x1 modulated conv as a per-sample matmul.  x (B, in, H, W) -> (B, out, H, W)."""
    Wt = sd[prefix + "conv.weight"][0, :, :, 0, 0]  # (out, in)
    cin = Wt.shape[1]
    s = modulation_style(sd, prefix, w)  # (B, in)
    Wb = Wt.unsqueeze(0) * s.unsqueeze(1) / math.sqrt(cin)  # (B, out, in)
    if demodulate:
        d = torch.rsqrt(torch.sum(Wb * Wb, dim=2, keepdim=True) + DEMOD_EPS)  # (B, out, 1)
        Wb = Wb * d
    return torch.einsum("boi,bihw->bohw", Wb, x)


def styled_conv(sd, prefix, x, w, noise=None):
    y = modulated_fc(sd, prefix, x, w, demodulate=True)
    if noise is not None:
        y = y + sd[prefix + "noise.weight"].view(1, 1, 1, 1) * noise
    y = y + sd[prefix + "activate.bias"].view(1, -1, 1, 1)
    return leaky_relu_scaled(y)


def to_rgb(sd, prefix, x, w):
    y = modulated_fc(sd, prefix, x, w, demodulate=False)
    return y + sd[prefix + "bias"].view(1, 3, 1, 1)


def equal_conv1x1_nobias(weight, x):
    """EqualConv2d 1x1 without bias: runtime weight = stored / sqrt(in * 1 * 1)."""
    Wt = weight[:, :, 0, 0] / math.sqrt(weight.shape[1])
    return torch.einsum("oi,bihw->bohw", Wt, x)


def styled_conv_order(cfg):
    """Prefixes of the 2L-1 StyledConvs in forward order (= order of the noise maps)."""
    L = log_size(cfg["size"])
    if cfg["variant"] == "skips":
        return ["conv1."] + ["linears.%d." % k for k in range(2 * (L - 1))]
    out = ["linears.0."]
    for i in range(L - 1):
        out += ["linears.%d.conv1." % (i + 1), "linears.%d.conv2." % (i + 1)]
    return out


# ----------------------------------------------------------------------------------------------
# Generator forward
# ----------------------------------------------------------------------------------------------

def raw_embedding(sd, coords):
    """The training-mode read of the embedding (spec 4.3): the raw table tiled over the batch, which the
    official code uses when the module is in training mode and the grid is exactly size x size."""
    table = sd["emb.input"]
    if tuple(coords.shape[2:]) != tuple(table.shape[2:]):
        raise ValueError("the raw table needs the full %s grid, got %s" % (tuple(table.shape[2:]), coords.shape))
    return table.expand(coords.shape[0], -1, -1, -1)


def synthesis(sd, cfg, coords, w, noise=None, train_mode=False):
    """w (B, style_dim) already mapped (and truncated); coords (B, 2, H, W) -> rgb (B, 3, H, W).
    train_mode: read the embedding as the training-mode forward does (raw_embedding)."""
    L = log_size(cfg["size"])
    order = styled_conv_order(cfg)
    if noise is None:
        noise = [None] * len(order)
    if len(noise) != len(order):
        raise ValueError("need %d noise maps (or None), got %d" % (len(order), len(noise)))
    nz = dict(zip(order, noise))

    emb = raw_embedding(sd, coords) if train_mode else embedding(sd, coords)
    x = torch.cat([fourier_features(sd, coords), emb], dim=1)

    if cfg["variant"] == "skips":
        x = styled_conv(sd, "conv1.", x, w, nz["conv1."])
        rgb = 0
        for i in range(L - 1):
            pa, pb = "linears.%d." % (2 * i), "linears.%d." % (2 * i + 1)
            x = styled_conv(sd, pa, x, w, nz[pa])
            x = styled_conv(sd, pb, x, w, nz[pb])
            rgb = rgb + to_rgb(sd, "to_rgbs.%d." % i, x, w)
        return rgb

    x = styled_conv(sd, "linears.0.", x, w, nz["linears.0."])
    for i in range(L - 1):
        p = "linears.%d." % (i + 1)
        h = styled_conv(sd, p + "conv1.", x, w, nz[p + "conv1."])
        h = styled_conv(sd, p + "conv2.", h, w, nz[p + "conv2."])
        skip_key = p + "skip.0.weight"
        shortcut = equal_conv1x1_nobias(sd[skip_key], x) if skip_key in sd else x
        x = (h + shortcut) / SQRT2
    return to_rgb(sd, "to_rgb_last.", x, w)


def generate(sd, cfg, coords, z=None, w=None, psi=1.0, mean_w=None, noise=None):
    """Full g_ema forward.  Give z (mapped here) or w (input_is_latent); truncation in w space."""
    if w is None:
        w = mapping(sd, z, cfg["n_mlp"])
    if psi != 1:
        w = truncate(w, mean_w, psi)
    return synthesis(sd, cfg, coords, w, noise)


# ----------------------------------------------------------------------------------------------
# Self-check
# ----------------------------------------------------------------------------------------------

def _modulated_fc_grouped(sd, prefix, x, w, demodulate):
    """Alternative formulation (grouped conv2d, groups = batch) used only as a cross-check."""
    weight = sd[prefix + "conv.weight"]  # (1, out, in, 1, 1)
    B, cin, H, W = x.shape
    cout = weight.shape[1]
    M = sd[prefix + "conv.modulation.weight"]
    s = F.linear(w, M * (1.0 / math.sqrt(M.shape[1])), sd[prefix + "conv.modulation.bias"])
    wt = (1.0 / math.sqrt(cin)) * weight * s.view(B, 1, cin, 1, 1)
    if demodulate:
        wt = wt * torch.rsqrt(wt.pow(2).sum([2, 3, 4]) + DEMOD_EPS).view(B, cout, 1, 1, 1)
    wt = wt.view(B * cout, cin, 1, 1)
    y = F.conv2d(x.reshape(1, B * cin, H, W), wt, padding=0, groups=B)
    return y.view(B, cout, H, W)


def _bilinear_border_manual(table, gx, gy):
    """Scalar-formula bilinear lookup (spec 4.3) for a (C, Hn, Wn) table; align_corners=False."""
    C, Hn, Wn = table.shape

    def src(g, n):
        return min(max(((g + 1.0) * n - 1.0) / 2.0, 0.0), n - 1.0)

    ix, iy = src(gx, Wn), src(gy, Hn)
    x0, y0 = math.floor(ix), math.floor(iy)
    fx, fy = ix - x0, iy - y0
    out = torch.zeros(C, dtype=table.dtype)
    for yy, wy in ((y0, 1.0 - fy), (y0 + 1, fy)):
        for xx, wx in ((x0, 1.0 - fx), (x0 + 1, fx)):
            if 0 <= yy < Hn and 0 <= xx < Wn:
                out += wy * wx * table[:, yy, xx]
    return out


def self_check():
    ok = True

    def report(name, cond, detail=""):
        nonlocal ok
        ok = ok and bool(cond)
        print("[%s] %s%s" % ("PASS" if cond else "FAIL", name, (": " + detail) if detail else ""))

    # -- parameter counts at the defaults (from shapes only) --
    skip_cfg = default_config(variant="skips")
    res_cfg = default_config(variant="residual")
    shp = state_dict_shapes(skip_cfg)
    n_skip = parameter_count(skip_cfg)
    report("CIPSskip-256 keys", len(shp) == 122, "%d keys" % len(shp))
    report("CIPSskip-256 parameters", n_skip == 44317092, "{:,}".format(n_skip))
    shp_r = state_dict_shapes(res_cfg)
    n_res = parameter_count(res_cfg)
    report("CIPSres-256 keys", len(shp_r) == 100, "%d keys" % len(shp_r))
    report("CIPSres-256 parameters ~43.03M", round(n_res / 1e6, 2) == 43.03,
           "{:,} ({:.2f}M)".format(n_res, n_res / 1e6))
    skips_keys = sorted(k for k in shp_r if k.endswith("skip.0.weight"))
    report("CIPSres-256 skip convs at linears.6/7",
           skips_keys == ["linears.6.skip.0.weight", "linears.7.skip.0.weight"]
           and shp_r["linears.6.skip.0.weight"] == (256, 512, 1, 1)
           and shp_r["linears.7.skip.0.weight"] == (128, 256, 1, 1), ", ".join(skips_keys))

    def group(prefix):
        return sum(math.prod(s) for k, s in shp.items() if k.startswith(prefix))
    comp = {
        "lff": (group("lff."), 1536),
        "emb": (group("emb."), 33554432),
        "conv1": (group("conv1."), 1050113),
        "linears.0": (group("linears.0."), 525313),
        "linears.10": (group("linears.10."), 393985),
        "linears.11": (group("linears.11."), 197121),
        "linears.12": (group("linears.12."), 164225),
        "linears.13": (group("linears.13."), 82177),
        "to_rgbs.0": (group("to_rgbs.0."), 264195),
        "to_rgbs.5": (group("to_rgbs.5."), 132099),
        "to_rgbs.6": (group("to_rgbs.6."), 66051),
        "style": (group("style."), 2101248),
    }
    bad = {k: v for k, v in comp.items() if v[0] != v[1]}
    report("CIPSskip-256 per-component counts (spec 6 table)", not bad, str(bad) if bad else "all match")
    n128 = parameter_count(default_config(size=128))
    report("CIPSskip-128 ~18.84M", round(n128 / 1e6, 2) == 18.84, "{:,}".format(n128))
    n_styled = len(styled_conv_order(skip_cfg))
    report("2L-1 = 15 StyledConvs at 256", n_styled == 15 and len(styled_conv_order(res_cfg)) == 15)

    # -- small double-precision model for numerical sanity checks --
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    small = default_config(variant="skips", size=16, hidden_size=8, style_dim=12, n_mlp=2,
                           max_channels=16)
    sd = {k: v.double() for k, v in random_state_dict(small, gen).items()}
    B, S = 2, 16
    coords = coord_grid(B, S, S, torch.float64)

    # coordinate grid layout
    c = coord_grid(1, 3, 5)
    report("grid channel 0 = x along columns, channel 1 = y along rows",
           torch.equal(c[0, 0, 1], torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0]))
           and torch.equal(c[0, 1, :, 2], torch.tensor([-1.0, 0.0, 1.0])))

    # embedding: align_corners=True at native size reproduces the table; False does not
    # (exact with a float64 linspace grid; the float32 torch linspace is off by <= 1 ulp, which
    # moves the sample position by ~1e-6 pixel)
    table = sd["emb.input"].expand(B, -1, -1, -1)
    lin = torch.linspace(-1.0, 1.0, S, dtype=torch.float64)
    grid64 = torch.stack([lin.view(1, S).expand(S, S), lin.view(S, 1).expand(S, S)], dim=-1)
    grid64 = grid64.unsqueeze(0).expand(B, S, S, 2)
    e_true = F.grid_sample(table, grid64, mode="bilinear", padding_mode="border", align_corners=True)
    err = (e_true - table).abs().max().item()
    report("native grid (f64) + align_corners=True == raw table", err < 1e-12, "max |d| = %.3g" % err)
    grid32 = coords.permute(0, 2, 3, 1)
    e_true32 = F.grid_sample(table, grid32, mode="bilinear", padding_mode="border", align_corners=True)
    err = (e_true32 - table).abs().max().item()
    report("native grid (f32 linspace) + align_corners=True ~= raw table", err < 1e-5, "max |d| = %.3g" % err)
    e_eval = embedding(sd, coords)
    diff = (e_eval - table).abs().mean().item()
    report("eval path (align_corners=False) differs from raw table", diff > 0.05,
           "mean |d| = %.3f" % diff)
    # scalar formula of spec 4.3 (incl. out-of-range coordinates) vs torch grid_sample
    rgrid = (torch.rand(1, 5, 7, 2, generator=gen, dtype=torch.float64) * 2.6 - 1.3)
    ref = F.grid_sample(sd["emb.input"], rgrid, mode="bilinear", padding_mode="border",
                        align_corners=False)[0]
    man = torch.stack([torch.stack([_bilinear_border_manual(sd["emb.input"][0], rgrid[0, i, j, 0].item(),
                                                            rgrid[0, i, j, 1].item())
                                    for j in range(7)], dim=-1) for i in range(5)], dim=-2)
    err = (ref - man).abs().max().item()
    report("spec 4.3 bilinear formula == torch grid_sample", err < 1e-12, "max |d| = %.3g" % err)

    # modulated FC: einsum form vs grouped-conv form, demod on and off
    z = torch.randn(B, small["style_dim"], generator=gen, dtype=torch.float64)
    w = mapping(sd, z, small["n_mlp"])
    x = torch.randn(B, 16, 4, 5, generator=gen, dtype=torch.float64)
    e1 = (modulated_fc(sd, "linears.0.", x, w, True) - _modulated_fc_grouped(sd, "linears.0.", x, w, True)).abs().max().item()
    e2 = (modulated_fc(sd, "to_rgbs.0.", x, w, False) - _modulated_fc_grouped(sd, "to_rgbs.0.", x, w, False)).abs().max().item()
    report("modulated FC (einsum) == grouped conv2d form", max(e1, e2) < 1e-12, "max |d| = %.3g" % max(e1, e2))

    # mapping: manual vs F.linear + F.leaky_relu
    xm = z * torch.rsqrt(z.pow(2).mean(1, keepdim=True) + 1e-8)
    for j in range(1, small["n_mlp"] + 1):
        Wm = sd["style.%d.weight" % j]
        xm = F.leaky_relu(F.linear(xm, Wm * (0.01 / math.sqrt(Wm.shape[1])), sd["style.%d.bias" % j] * 0.01), 0.2) * math.sqrt(2)
    err = (xm - w).abs().max().item()
    report("mapping == F.linear/F.leaky_relu form", err < 1e-12, "max |d| = %.3g" % err)

    # noise: None == zero maps; changing noise changes the output
    order = styled_conv_order(small)
    zeros = [torch.zeros(B, 1, S, S, dtype=torch.float64) for _ in order]
    rnd = [torch.randn(B, 1, S, S, generator=gen, dtype=torch.float64) for _ in order]
    rnd2 = [torch.randn(B, 1, S, S, generator=gen, dtype=torch.float64) for _ in order]
    o_none = generate(sd, small, coords, z=z)
    o_zero = generate(sd, small, coords, z=z, noise=zeros)
    o_n1 = generate(sd, small, coords, z=z, noise=rnd)
    o_n2 = generate(sd, small, coords, z=z, noise=rnd2)
    report("noise None == zero noise maps", torch.equal(o_none, o_zero))
    d = (o_n1 - o_n2).abs().max().item()
    report("skips output changes when noise changes", d > 1e-2, "max |d| = %.3g" % d)
    report("output shape", tuple(o_none.shape) == (B, 3, S, S))

    # pixels are independent: rendering a sub-block of coordinates gives the same pixels
    sub = generate(sd, small, coords[:, :, 3:9, 5:12].contiguous(), z=z)
    err = (sub - o_none[:, :, 3:9, 5:12]).abs().max().item()
    report("tiling: sub-grid render == crop of full render", err < 1e-12, "max |d| = %.3g" % err)

    # truncation psi=0 gives the mean latent's image for every sample
    mean_w = w.mean(0)
    o_t0 = generate(sd, small, coords, z=z, psi=0.0, mean_w=mean_w)
    o_mw = synthesis(sd, small, coords, mean_w.unsqueeze(0).expand(B, -1))
    report("truncation psi=0 -> mean_w image", (o_t0 - o_mw).abs().max().item() < 1e-12)

    # residual variant with a width change (skip conv exercised)
    rcfg = default_config(variant="residual", size=16, hidden_size=8, style_dim=12, n_mlp=2,
                          channels=[16, 12, 8])
    rsd = {k: v.double() for k, v in random_state_dict(rcfg, gen).items()}
    rk = [k for k in rsd if "skip" in k]
    report("residual explicit table [16,12,8] has skip convs at linears.2/3",
           rk == ["linears.2.skip.0.weight", "linears.3.skip.0.weight"], ", ".join(rk))
    ro = generate(rsd, rcfg, coords, z=z)
    report("residual forward finite", bool(torch.isfinite(ro).all()) and tuple(ro.shape) == (B, 3, S, S))

    print("self-check: %s" % ("ALL PASS" if ok else "FAILURES"))
    return ok


if __name__ == "__main__":
    if "--self-check" in sys.argv[1:]:
        sys.exit(0 if self_check() else 1)
    print(__doc__)
