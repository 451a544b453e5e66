"""Reference discriminators in PyTorch, written from ../shared/spec (cips.md §7, creps.md §5, alis.md §4), as
functions of a state dict: rosinality's StyleGAN2 residual D (CIPS) and the StyleGAN2-ADA resnet D (CREPS,
ALIS). Used by make_discriminator_fixtures.py and make_train_fixtures.py.

The two down-sampling convolutions are computed in different (equivalent) orders on purpose: rosinality's
as its code does (blur with padding, then a strided conv), SG2-ADA's as conv2d_resample's generic path does
(zero padding, a plain conv, then blur and keep every second sample). The C++ code computes both the first
way, so the SG2-ADA fixtures also check that the orders agree.
"""

import math
from collections import OrderedDict

import torch
import torch.nn.functional as F

from make_conv_fixtures import minibatch_stddev  # SG2-ADA's MinibatchStdLayer, from its definition


def blur_kernel(dtype=torch.float64):
    k = torch.tensor([1.0, 3.0, 3.0, 1.0], dtype=dtype)
    k = k[:, None] * k[None, :]
    return k / k.sum()


def fir(x, f, pad0, pad1, down=1):
    """Zero-pad (pad0 before, pad1 after, both axes), convolve every channel with f (a true convolution:
    flipped), keep every down-th sample."""
    c = x.shape[1]
    x = F.pad(x, [pad0, pad1, pad0, pad1])
    w = torch.flip(f, [0, 1])[None, None].repeat(c, 1, 1, 1).to(x.dtype)
    return F.conv2d(x, w, groups=c, stride=down)


def lrelu(x):
    return F.leaky_relu(x, 0.2) * math.sqrt(2)


# ------------------------------------------------------------------------------------- rosinality / CIPS


def rosinality_channels(cfg, res):
    cm = cfg["channel_multiplier"]
    table = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256 * cm, 128: 128 * cm, 256: 64 * cm, 512: 32 * cm,
             1024: 16 * cm}
    c = table[res]
    return min(c, cfg["max_channels"]) if cfg.get("max_channels", 0) > 0 else c


def rosinality_shapes(cfg):
    """Ordered state-dict keys and shapes of rosinality's Discriminator (CIPS's Discriminators.py)."""
    s = OrderedDict()
    size = cfg["size"]
    ch = lambda r: rosinality_channels(cfg, r)  # noqa: E731
    s["convs.0.0.weight"] = (ch(size), cfg["input_channels"], 1, 1)
    s["convs.0.1.bias"] = (ch(size),)
    i, res = 1, size
    while res > 4:
        cin, cout = ch(res), ch(res // 2)
        p = "convs.%d." % i
        s[p + "conv1.0.weight"] = (cin, cin, 3, 3)
        s[p + "conv1.1.bias"] = (cin,)
        s[p + "conv2.0.kernel"] = (4, 4)
        s[p + "conv2.1.weight"] = (cout, cin, 3, 3)
        s[p + "conv2.2.bias"] = (cout,)
        s[p + "skip.0.kernel"] = (4, 4)
        s[p + "skip.1.weight"] = (cout, cin, 1, 1)
        i, res = i + 1, res // 2
    c4 = ch(4)
    s["final_conv.0.weight"] = (c4, c4 + 1, 3, 3)
    s["final_conv.1.bias"] = (c4,)
    s["final_linear.0.weight"] = (c4, c4 * 16)
    s["final_linear.0.bias"] = (c4,)
    s["final_linear.1.weight"] = (1, c4)
    s["final_linear.1.bias"] = (1,)
    return s


def rosinality_conv_layer(sd, prefix, x, k, down, activate):
    """ConvLayer: [Blur(pad)] -> EqualConv2d (no bias) -> [FusedLeakyReLU]."""
    idx = 0
    if down:
        p = (4 - 2) + (k - 1)
        x = fir(x, sd[prefix + "0.kernel"], (p + 1) // 2, p // 2)
        idx = 1
    w = sd[prefix + "%d.weight" % idx]
    x = F.conv2d(x, w / math.sqrt(w.shape[1] * k * k), stride=2 if down else 1, padding=0 if down else k // 2)
    if activate:
        x = lrelu(x + sd[prefix + "%d.bias" % (idx + 1)][None, :, None, None])
    return x


def rosinality_forward(sd, cfg, img):
    x = rosinality_conv_layer(sd, "convs.0.", img, 1, False, True)
    i, res = 1, cfg["size"]
    while res > 4:
        p = "convs.%d." % i
        out = rosinality_conv_layer(sd, p + "conv1.", x, 3, False, True)
        out = rosinality_conv_layer(sd, p + "conv2.", out, 3, True, True)
        skip = rosinality_conv_layer(sd, p + "skip.", x, 1, True, False)
        x = (out + skip) / math.sqrt(2)
        i, res = i + 1, res // 2
    b, c, h, w = x.shape
    group = min(b, 4)
    std = x.view(group, -1, 1, c, h, w)
    std = torch.sqrt(std.var(0, unbiased=False) + 1e-8)
    std = std.mean([2, 3, 4], keepdim=True).squeeze(2)
    std = std.repeat(group, 1, h, w)
    x = torch.cat([x, std], 1)
    x = rosinality_conv_layer(sd, "final_conv.", x, 3, False, True)
    x = x.reshape(b, -1)
    w0 = sd["final_linear.0.weight"]
    x = lrelu(F.linear(x, w0 / math.sqrt(w0.shape[1])) + sd["final_linear.0.bias"])
    w1 = sd["final_linear.1.weight"]
    return F.linear(x, w1 / math.sqrt(w1.shape[1])) + sd["final_linear.1.bias"]


# ------------------------------------------------------------------------------- StyleGAN2-ADA resnet D


def sg2_channels(cfg, res):
    return min(cfg["channel_base"] // res, cfg["channel_max"])


def sg2_shapes(cfg):
    s = OrderedDict()
    size = cfg["size"]
    ch = lambda r: sg2_channels(cfg, r)  # noqa: E731
    res = size
    while res > 4:
        p = "b%d." % res
        s[p + "resample_filter"] = (4, 4)
        if res == size:
            s[p + "fromrgb.weight"] = (ch(res), cfg["img_channels"], 1, 1)
            s[p + "fromrgb.bias"] = (ch(res),)
            s[p + "fromrgb.resample_filter"] = (4, 4)
        s[p + "conv0.weight"] = (ch(res), ch(res), 3, 3)
        s[p + "conv0.bias"] = (ch(res),)
        s[p + "conv0.resample_filter"] = (4, 4)
        s[p + "conv1.weight"] = (ch(res // 2), ch(res), 3, 3)
        s[p + "conv1.bias"] = (ch(res // 2),)
        s[p + "conv1.resample_filter"] = (4, 4)
        s[p + "skip.weight"] = (ch(res // 2), ch(res), 1, 1)
        s[p + "skip.resample_filter"] = (4, 4)
        res //= 2
    c4 = ch(4)
    s["b4.conv.weight"] = (c4, c4 + cfg["mbstd_channels"], 3, 3)
    s["b4.conv.bias"] = (c4,)
    s["b4.conv.resample_filter"] = (4, 4)
    s["b4.fc.weight"] = (c4, c4 * 16)
    s["b4.fc.bias"] = (c4,)
    s["b4.out.weight"] = (1, c4)
    s["b4.out.bias"] = (1,)
    return s


def sg2_conv_layer(sd, prefix, x, down=1, activation="lrelu", gain=1.0, clamp=None):
    """Conv2dLayer through conv2d_resample's generic path: pad, conv, then blur and subsample."""
    w = sd[prefix + "weight"]
    k = w.shape[2]
    w = w / math.sqrt(w.shape[1] * k * k)
    pad0 = pad1 = k // 2
    if down > 1:
        pad0 += (4 - down + 1) // 2
        pad1 += (4 - down) // 2
    x = F.conv2d(F.pad(x, [pad0, pad1, pad0, pad1]), w)
    if down > 1:
        x = fir(x, sd[prefix + "resample_filter"], 0, 0, down=down)
    b = sd.get(prefix + "bias")
    if b is not None:
        x = x + b[None, :, None, None]
    act_gain = (math.sqrt(2) if activation == "lrelu" else 1.0) * gain
    if activation == "lrelu":
        x = F.leaky_relu(x, 0.2)
    x = x * act_gain
    if clamp is not None:
        x = x.clamp(-clamp * gain, clamp * gain)
    return x


def sg2_forward(sd, cfg, img):
    clamp = cfg.get("conv_clamp")
    x = None
    res = cfg["size"]
    while res > 4:
        p = "b%d." % res
        if x is None:
            x = sg2_conv_layer(sd, p + "fromrgb.", img, clamp=clamp)
        y = sg2_conv_layer(sd, p + "skip.", x, down=2, activation="linear", gain=math.sqrt(0.5), clamp=clamp)
        x = sg2_conv_layer(sd, p + "conv0.", x, clamp=clamp)
        x = sg2_conv_layer(sd, p + "conv1.", x, down=2, gain=math.sqrt(0.5), clamp=clamp)
        x = y + x
        res //= 2
    x = minibatch_stddev(x, cfg["mbstd_group"], cfg["mbstd_channels"])
    x = sg2_conv_layer(sd, "b4.conv.", x, clamp=clamp)
    w = sd["b4.fc.weight"]
    x = lrelu(F.linear(x.flatten(1), w / math.sqrt(w.shape[1])) + sd["b4.fc.bias"])
    w = sd["b4.out.weight"]
    return F.linear(x, w / math.sqrt(w.shape[1])) + sd["b4.out.bias"]


# ---------------------------------------------------------------------------------------------- helpers


def parameter_count(shapes):
    return sum(math.prod(s) for k, s in shapes.items() if not (k.endswith("kernel") or k.endswith("resample_filter")))


def random_state_dict(shapes, gen, dtype=torch.float64, bias_scale=0.3):
    """Weights N(0, 1) (the official init), biases N(0, bias_scale²) so that they matter, filter buffers
    outer([1,3,3,1]) / 64."""
    sd = OrderedDict()
    for k, s in shapes.items():
        if k.endswith("kernel") or k.endswith("resample_filter"):
            sd[k] = blur_kernel(dtype)
        elif k.endswith("bias"):
            sd[k] = torch.randn(*s, generator=gen, dtype=dtype) * bias_scale
        else:
            sd[k] = torch.randn(*s, generator=gen, dtype=dtype)
    return sd
