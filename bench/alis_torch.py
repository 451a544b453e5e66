"""Times the official ALIS generator (universome/alis, fetched into .official/alis, not committed) on a GPU:
alis.yml at 256² (24,111,298 parameters, random weights: the speed does not depend on them), noise off,
batch 1 and 16, mapped anchors given (as bench_alis_gpu). "default" is the official inference setting (the
four highest-resolution blocks in fp16, PyTorch's TF32 defaults); "fp32" passes force_fp32=True.
Its CUDA plugins (bias_act, upfirdn2d) are not built: the reference op paths run, as the official code
itself falls back to them when the plugins do not compile. Prints frames per second and the extra peak
memory (torch's allocator, above the weights).

  python3 bench/alis_torch.py --official .official/alis [--runs 10] [--warmup 3]
"""
import argparse
import os
import statistics
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_support  # noqa: E402  (the official code's loading)


def build(official):
    torch_support.import_official(official)  # the reference op paths (see the module docstring)
    return torch_support.alis_networks(official, 256)[0]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--official", required=True)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    a = p.parse_args()
    dev = torch.device("cuda")
    G = build(a.official).eval().requires_grad_(False).to(dev)
    n = sum(q.numel() for q in G.parameters())
    print(f"official ALIS alis.yml 256² ({n:,} parameters), torch {torch.__version__}, {torch.cuda.get_device_name(dev)}, "
          f"cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}, median of {a.runs} after {a.warmup} warm-up")
    print("| mode | batch | ms/call | ms/frame | frames/s | extra peak MiB |\n|---|---:|---:|---:|---:|---:|")
    for mode in ("default", "fp32"):
        for b in (1, 16):
            z = torch.randn(b * 3, 512, device=dev, generator=torch.Generator(device=dev).manual_seed(1))
            with torch.no_grad():
                ws = G.mapping(z, None, truncation_psi=1.0).view(b, 3, G.num_ws, -1)
                ctx = torch.stack([ws[:, 0], ws[:, 2]], dim=1)
                lb = torch.tensor([(2 * i) % 8 for i in range(b)], device=dev)
                call = lambda: G.synthesis(ws[:, 1], ws_context=ctx, left_borders_idx=lb, noise_mode="none",
                                           force_fp32=(mode == "fp32"))
                for _ in range(a.warmup):
                    call()
                torch.cuda.synchronize()
                base = torch.cuda.memory_allocated(dev)
                torch.cuda.reset_peak_memory_stats(dev)
                times = []
                for _ in range(a.runs):
                    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    s.record()
                    call()
                    e.record()
                    e.synchronize()
                    times.append(s.elapsed_time(e))
                peak = (torch.cuda.max_memory_allocated(dev) - base) / 2**20
            ms = statistics.median(times)
            print(f"| {mode} | {b} | {ms:.3f} | {ms / b:.3f} | {1000 * b / ms:.1f} | {peak:.0f} |")


if __name__ == "__main__":
    main()
