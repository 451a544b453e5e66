"""What the PyTorch benchmark scripts share: CUDA-event timing; the official StyleGAN2-ADA code bases (CREPS,
ALIS) imported with their CUDA plugins off, and their networks as the official training scripts build them;
and a plain-PyTorch stand-in for CIPS's JIT-compiled CUDA extension `op` (fused bias + leaky ReLU,
upfirdn2d), which no longer builds with current PyTorch. The maths is the extension's own reference
definition: fused_leaky_relu(x, b) = leaky_relu(x + b, 0.2) · √2; upfirdn2d = zero-insertion up-sampling,
padding (negative: cropping), a 2-D FIR convolution with the kernel, then keeping every down-th sample. Every
op is a composition of differentiable torch ops, so the R1 penalty's double backward runs through it.

  import torch_support; torch_support.install_op()   # CIPS: before importing the official model package
  torch_support.import_official(".official/creps"); g, d = torch_support.creps_networks(256)   # CREPS
  torch_support.import_official(".official/alis"); g, d = torch_support.alis_networks(".official/alis", 256)
One official code base per process: CREPS and ALIS both name their packages `training` and `torch_utils`.
"""

import os
import statistics
import sys
import time
import types

import numpy as np

import torch
import torch.nn.functional as F


def fused_leaky_relu(x, bias, negative_slope=0.2, scale=2 ** 0.5):
    return F.leaky_relu(x + bias.view((1, -1) + (1,) * (x.dim() - 2)), negative_slope) * scale


class FusedLeakyReLU(torch.nn.Module):
    def __init__(self, channel, negative_slope=0.2, scale=2 ** 0.5):
        super().__init__()
        self.bias = torch.nn.Parameter(torch.zeros(channel))
        self.negative_slope = negative_slope
        self.scale = scale

    def forward(self, x):
        return fused_leaky_relu(x, self.bias, self.negative_slope, self.scale)


def upfirdn2d(x, kernel, up=1, down=1, pad=(0, 0)):
    """x (B, C, H, W), kernel (kh, kw); the same up, down and pad (before, after) on both axes."""
    b, c, h, w = x.shape
    if up > 1:
        spread = x.new_zeros(b, c, h * up, w * up)
        spread[:, :, ::up, ::up] = x
        x = spread
    before, after = pad
    x = F.pad(x, [max(before, 0), max(after, 0), max(before, 0), max(after, 0)])
    x = x[:, :, max(-before, 0):x.shape[2] - max(-after, 0), max(-before, 0):x.shape[3] - max(-after, 0)]
    kh, kw = kernel.shape
    # conv2d correlates: flipping the kernel makes it the FIR convolution.
    weight = torch.flip(kernel.to(x.dtype), [0, 1]).view(1, 1, kh, kw).expand(c, 1, kh, kw)
    x = F.conv2d(x, weight, groups=c)
    return x[:, :, ::down, ::down]


def install_op():
    """Registers the stand-in as the module `op`, which the official code imports."""
    op = types.ModuleType("op")
    op.fused_leaky_relu, op.FusedLeakyReLU, op.upfirdn2d = fused_leaky_relu, FusedLeakyReLU, upfirdn2d
    sys.modules["op"] = op


def import_official(official):
    """Puts a StyleGAN2-ADA code base (CREPS, ALIS) first on the import path with its CUDA plugins off:
    bias_act and upfirdn2d take their reference paths (PyTorch compositions; the plugins' JIT builds fail on
    current PyTorch, and the official code falls back to the same paths where they do), and conv2d_gradfix
    hands over to torch's conv2d, as the official code does by itself on PyTorch >= 1.11 (CREPS) or other than
    1.7/1.8 (ALIS): set here so that it does not warn on every call."""
    if "float" not in np.__dict__:
        np.float = float  # ALIS's layers.py uses np.float (removed in NumPy 1.24)
    sys.path.insert(0, os.path.abspath(official))
    from torch_utils.ops import bias_act, conv2d_gradfix, upfirdn2d

    bias_act._init = lambda: False
    upfirdn2d._init = lambda: False
    conv2d_gradfix.enabled = False


def creps_networks(size):
    """G and D of CREPS's `train.py --cfg=creps` (creps.md §0, §5): networks_creps.Generator (8 mapping
    layers, channel base 65536, max 1024) and networks_stylegan2.Discriminator (resnet, channel base 32768,
    max 512, fp16 in the top 4 resolutions, conv clamp 256, minibatch-stddev group 4), random initialisation."""
    from training import networks_creps, networks_stylegan2

    g = networks_creps.Generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=size, img_channels=3,
                                 mapping_kwargs={"num_layers": 8}, channel_base=65536, channel_max=1024)
    d = networks_stylegan2.Discriminator(c_dim=0, img_resolution=size, img_channels=3, channel_base=32768,
                                         channel_max=512, num_fp16_res=4, conv_clamp=256,
                                         epilogue_kwargs={"mbstd_group_size": 4})
    return g, d


def alis_synthesis_cfg(official):
    """configs/alis.yml's synthesis section, unresolved (the official code resolves it against itself)."""
    from omegaconf import OmegaConf

    return OmegaConf.to_container(OmegaConf.load(os.path.join(official, "configs", "alis.yml")).synthesis)


def alis_networks(official, size):
    """G and D of ALIS's scripts/train.py with configs/alis.yml (alis.md §1, §4): training.networks.Generator
    (2 mapping layers, channel base 16384, max 512, fp16 in the top 4 resolutions, conv clamp 256) and
    training.networks.Discriminator (resnet, channel base 16384, max 512, fp16 top 4, clamp 256,
    minibatch-stddev group 4, not modulated), random initialisation."""
    from training.networks import Discriminator, Generator

    fp16 = dict(channel_base=16384, channel_max=512, num_fp16_res=4, conv_clamp=256)
    g = Generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=size, img_channels=3,
                  mapping_kwargs=dict(num_layers=2), synthesis_kwargs=fp16,
                  synthesis_cfg=alis_synthesis_cfg(official))
    d = Discriminator(c_dim=0, img_resolution=size, img_channels=3, block_kwargs=dict(is_modulated=False),
                      epilogue_kwargs=dict(mbstd_group_size=4), **fp16)
    return g, d


def time_call(fn, runs, warmup, device="cuda"):
    """The median ms of `runs` timings of fn() after `warmup` calls: CUDA events on the GPU, the wall clock on
    the CPU."""
    for _ in range(warmup):
        fn()
    if device != "cuda":
        ms = []
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            ms.append(1000 * (time.perf_counter() - start))
        return statistics.median(ms)
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    ms = []
    for _ in range(runs):
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        ms.append(start.elapsed_time(stop))
    return statistics.median(ms)


def write_lines_atomically(path, lines):
    """A temporary file beside `path`, then a rename: a reader never sees half a table."""
    with open(path + ".tmp", "w") as f:
        f.writelines(lines)
    os.replace(path + ".tmp", path)
