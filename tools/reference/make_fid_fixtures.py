#!/usr/bin/python3
"""Write tests/fixtures/metrics/fid.safetensors: feature sets with their Fréchet distances and KIDs,
computed independently of pixsyn's C++ code (metrics/frechet.hpp, metrics/kid.hpp).

Usage (from the repository root):  /usr/bin/python3 tools/reference/make_fid_fixtures.py
Deterministic (one torch.Generator seed); float64 throughout:
- Fréchet distance |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr sqrt(S_a S_b), with covariances divided by
  N - 1 and tr sqrt(S_a S_b) as the sum of the square roots of the eigenvalues of the (non-symmetric)
  product S_a S_b (torch.linalg.eigvals; pixsyn takes the symmetric S_a^1/2 S_b S_a^1/2 instead);
- KID: the unbiased MMD^2 with k(x, y) = (x.y / F + 1)^3 over the whole sets (one subset of all samples),
  written out as a double loop over pairs.
"""

import os
import sys
from collections import OrderedDict

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from safetensors_io import save_file  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "metrics", "fid.safetensors")


def frechet(a, b):
    ma, mb = a.mean(0), b.mean(0)
    sa, sb = torch.cov(a.T), torch.cov(b.T)
    eig = torch.linalg.eigvals(sa @ sb)
    trace_sqrt = eig.real.clamp(min=0).sqrt().sum()
    return ((ma - mb) ** 2).sum() + sa.trace() + sb.trace() - 2 * trace_sqrt


def kid(a, b):
    f = a.shape[1]
    k = lambda x, y: (float(x @ y) / f + 1) ** 3  # noqa: E731
    m = a.shape[0]
    xx = sum(k(a[i], a[j]) for i in range(m) for j in range(m) if i != j)
    yy = sum(k(b[i], b[j]) for i in range(m) for j in range(m) if i != j)
    xy = sum(k(a[i], b[j]) for i in range(m) for j in range(m))
    return torch.tensor((xx + yy) / (m * (m - 1)) - 2 * xy / (m * m), dtype=torch.float64)


def main():
    g = torch.Generator().manual_seed(2026)
    f = 8
    # Correlated features with different covariances (not commuting) and means.
    mix_a = torch.randn(f, f, generator=g, dtype=torch.float64)
    mix_b = torch.randn(f, f, generator=g, dtype=torch.float64)
    a = torch.randn(40, f, generator=g, dtype=torch.float64) @ mix_a
    b = torch.randn(40, f, generator=g, dtype=torch.float64) @ mix_b + 0.5
    c = torch.relu(torch.randn(6, f, generator=g, dtype=torch.float64))  # fewer samples than features + 1
    t = OrderedDict()
    t["a"], t["b"], t["c"] = a, b, c
    t["fd_ab"] = frechet(a, b).reshape(1)
    t["fd_ac"] = frechet(a, c).reshape(1)
    t["fd_aa"] = frechet(a, a).reshape(1)
    t["kid_ab"] = kid(a, b).reshape(1)
    t["kid_ac"] = kid(a[:6], c).reshape(1)
    save_file(t, OUT, {"source": "tools/reference/make_fid_fixtures.py"})
    for key in ("fd_ab", "fd_ac", "fd_aa", "kid_ab", "kid_ac"):
        print(key, float(t[key]))


if __name__ == "__main__":
    main()
