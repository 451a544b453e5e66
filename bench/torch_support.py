"""What the PyTorch benchmark scripts share: CUDA-event timing, and a plain-PyTorch stand-in for the official
code's JIT-compiled CUDA extension `op` (fused bias + leaky ReLU, upfirdn2d), which no longer builds with
current PyTorch. The maths is the extension's own reference
definition: fused_leaky_relu(x, b) = leaky_relu(x + b, 0.2) · √2; upfirdn2d = zero-insertion up-sampling,
padding (negative: cropping), a 2-D FIR convolution with the kernel, then keeping every down-th sample. Every
op is a composition of differentiable torch ops, so the R1 penalty's double backward runs through it.

  import torch_support; torch_support.install_op()   # before importing the official model package
"""

import os
import statistics
import sys
import types

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


def time_call(fn, runs, warmup):
    """The median ms of `runs` CUDA-event timings of fn() after `warmup` calls."""
    for _ in range(warmup):
        fn()
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
