#!/usr/bin/python3
"""The official CREPS generator on the GPU, timed the way bench_creps_gpu times pixsyn.

Builds `training.networks_creps.Generator` of the official code (--cfg=creps: channel_base 65536,
channel_max 1024, 8 mapping layers) with its random initialisation at each size, and times the synthesis
network on a batch of ws: median of --runs forward passes after --warmup, with CUDA events, under
torch.no_grad.  PyTorch defaults otherwise: the refinement blocks in fp16, TF32 off for matmuls.  Its
bias_act CUDA plugin does not build on recent PyTorch, so bias_act takes its reference path (as the
official code would need to run at all).  "extra" memory is the peak allocation above the weights.

  python3 bench/creps_torch.py --official .official/creps [--rows 256x1,256x16,512x16] [--runs 20]
"""

import argparse
import os
import sys

import torch


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--official", required=True, help="a checkout of github.com/VinAIResearch/CREPS")
    p.add_argument("--rows", default="256x1,256x16,512x16", help="size x batch, comma separated")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    a = p.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import torch_support  # noqa: E402  (the official code's loading)

    torch_support.import_official(a.official)  # bias_act's reference path: the plugin's JIT build fails
    device = torch.device("cuda")
    print("official CREPS (networks_creps.Generator), PyTorch %s, %s, bias_act reference path, "
          "tf32 matmul %s, median of %d after %d warm-up" % (torch.__version__, torch.cuda.get_device_name(device),
                                                             torch.backends.cuda.matmul.allow_tf32, a.runs, a.warmup))
    print("| size | batch | ms/call | ms/image | weights MiB | peak extra MiB |")
    print("|---|---|---|---|---|---|")
    models = {}
    for row in a.rows.split(","):
        size, batch = map(int, row.split("x"))
        if size not in models:
            models.clear()
            torch.cuda.empty_cache()
            torch.manual_seed(1)
            models[size] = torch_support.creps_networks(size)[0].eval().to(device)
        g = models[size]
        with torch.no_grad():
            z = torch.randn(batch, 512, device=device, generator=torch.Generator(device).manual_seed(2))
            ws = g.mapping(z, None)
            torch.cuda.synchronize()
            base = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
            for _ in range(a.warmup):
                g.synthesis(ws)
            times = []
            for _ in range(a.runs):
                start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                img = g.synthesis(ws)
                stop.record()
                stop.synchronize()
                times.append(start.elapsed_time(stop))
                del img
            peak = torch.cuda.max_memory_allocated()
        times.sort()
        ms = times[len(times) // 2]
        weights = sum(t.numel() * t.element_size() for t in list(g.parameters()) + list(g.buffers()))
        print("| %d² | %d | %.2f | %.2f | %.0f | %.0f |" % (size, batch, ms, ms / batch, weights / 2**20,
                                                           (peak - base) / 2**20), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
