#!/usr/bin/python3
"""Write tests/fixtures/metrics/metrics.safetensors: image pairs with their PSNR and SSIM, and images
with their area downsampling, computed independently of pixsyn's C++ code.

Usage (from the repository root):  /usr/bin/python3 tools/reference/make_metrics_fixtures.py
Deterministic (one fixed torch.Generator seed).  Everything is computed in float64:
- PSNR = 10 log10(L^2 / MSE) over every element of the image;
- SSIM (Wang et al. 2004): a full 11 x 11 Gaussian window (sigma 1.5, normalised over the 2-D
  window, not built from 1-D taps), F.conv2d per channel without padding ("valid"), population
  moments, C1 = (0.01 L)^2, C2 = (0.03 L)^2, the map averaged over positions and channels;
- area downsampling = F.avg_pool2d(kernel = stride = factor).
"""

import os
import sys
from collections import OrderedDict

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from safetensors_io import save_file  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "metrics", "metrics.safetensors")


def psnr(a, b, data_range):
    mse = ((a - b) ** 2).mean()
    return 10 * torch.log10(data_range ** 2 / mse)


def ssim(a, b, data_range, size=11, sigma=1.5, k1=0.01, k2=0.03):
    """a, b: (C, H, W) float64."""
    ys, xs = torch.meshgrid(torch.arange(size, dtype=torch.float64), torch.arange(size, dtype=torch.float64),
                            indexing="ij")
    c = (size - 1) / 2
    window = torch.exp(-((xs - c) ** 2 + (ys - c) ** 2) / (2 * sigma ** 2))
    window = (window / window.sum()).expand(a.shape[0], 1, size, size)

    def blur(x):
        return F.conv2d(x[None], window, groups=a.shape[0])[0]

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a ** 2
    var_b = blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    smap = (2 * mu_a * mu_b + c1) * (2 * cov + c2) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return smap.mean(dim=(1, 2)).mean()


def main():
    gen = torch.Generator().manual_seed(2023)
    tensors = OrderedDict()
    # (shape, data range, low, high, noise level): a clean image and a noisy, blurred copy.
    pairs = [((3, 24, 20), 2.0, -1.0, 1.0, 0.2), ((1, 11, 11), 1.0, 0.0, 1.0, 0.05),
             ((3, 32, 17), 255.0, 0.0, 255.0, 20.0), ((2, 16, 16), 2.0, -1.0, 1.0, 1.0)]
    for k, (shape, data_range, low, high, noise) in enumerate(pairs):
        smooth = F.avg_pool2d(torch.rand((1,) + shape, generator=gen, dtype=torch.float64), 3, 1, 1)[0]
        a = low + (high - low) * (smooth - smooth.min()) / (smooth.max() - smooth.min())
        b = (a + noise * torch.randn(shape, generator=gen, dtype=torch.float64)).clamp(low, high)
        a, b = a.float(), b.float()
        tensors[f"pair{k}.a"] = a
        tensors[f"pair{k}.b"] = b
        tensors[f"pair{k}.data_range"] = torch.tensor([data_range], dtype=torch.float64)
        tensors[f"pair{k}.psnr"] = psnr(a.double(), b.double(), data_range).reshape(1)
        tensors[f"pair{k}.ssim"] = ssim(a.double(), b.double(), data_range).reshape(1)
    images = torch.randn((2, 3, 8, 12), generator=gen, dtype=torch.float64).float()
    tensors["area.images"] = images
    for factor in (2, 4):
        tensors[f"area.factor{factor}"] = F.avg_pool2d(images.double(), factor).float()
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    save_file(tensors, OUT, metadata={"generator": "tools/reference/make_metrics_fixtures.py"})
    for k in range(len(pairs)):
        print(f"pair{k}: psnr {tensors[f'pair{k}.psnr'].item():.6f} ssim {tensors[f'pair{k}.ssim'].item():.6f}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
