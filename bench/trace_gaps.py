"""Reads a timeline written by libpixsyn_cupti_trace.so (bench/cupti_trace.cpp) and prints where the GPU
waited: the window (cudaProfilerStart .. cudaProfilerStop when the program marks one, else the whole trace),
the GPU's busy and idle time in it, the runtime API calls by total time, the idle time by gap length, and the
largest gaps with the GPU work on either side and the API calls the host made meanwhile.

  python3 bench/trace_gaps.py TRACE.csv [GAPS]      GAPS: how many of the largest gaps to list (default 20)
"""
import bisect
import collections
import csv
import re
import shutil
import subprocess
import sys


def demangled(names):
    """Kernel names as C++ spells them (c++filt, where installed), else as recorded."""
    names = sorted(set(names))
    if not shutil.which("c++filt"):
        return {n: n for n in names}
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True).stdout.splitlines()
    return dict(zip(names, out)) if len(out) == len(names) else {n: n for n in names}


def short(name):
    name = name.replace("(anonymous namespace)::", "")
    return re.sub(r"^void ", "", re.sub(r"\(.*", "", name))[:90]


def main():
    path = sys.argv[1]
    listed = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    records = []
    with open(path, newline="") as f:
        for row in csv.reader(f):
            if len(row) == 6:
                records.append((row[0], int(row[1]), int(row[2]), row[5]))
    if not records:
        sys.exit(f"{path}: no records")
    names = demangled(r[3] for r in records if r[0] == "K")
    records = [(r[0], r[1], r[2], names.get(r[3], r[3]) if r[0] == "K" else r[3]) for r in records]
    starts = [r for r in records if r[0] == "R" and r[3].startswith("cudaProfilerStart")]
    stops = [r for r in records if r[0] == "R" and r[3].startswith("cudaProfilerStop")]
    if starts and stops:
        low, high = starts[-1][2], stops[-1][1]
    else:
        low, high = min(r[1] for r in records), max(r[2] for r in records)
    gpu = sorted((r for r in records if r[0] in "KCS" and r[1] >= low and r[2] <= high), key=lambda r: r[1])
    api = sorted((r for r in records if r[0] == "R" and r[1] >= low and r[2] <= high), key=lambda r: r[1])

    busy, gaps, begin, end, previous = 0, [], None, None, None
    for r in gpu:
        if end is None or r[1] > end:
            if end is not None:
                busy += end - begin
                gaps.append((r[1] - end, end, r[1], previous, r))
            begin, end = r[1], r[2]
        else:
            end = max(end, r[2])
        previous = r
    if end is not None:
        busy += end - begin
    window = high - low
    print(f"window {window / 1e6:.2f} ms: GPU busy {busy / 1e6:.2f} ms, idle {(window - busy) / 1e6:.2f} ms "
          f"({len(gpu)} kernels, copies and memsets)")

    calls = collections.defaultdict(lambda: [0, 0])
    for r in api:
        calls[r[3]][0] += r[2] - r[1]
        calls[r[3]][1] += 1
    print("runtime API calls (ms, count):")
    for name, (ns, count) in sorted(calls.items(), key=lambda kv: -kv[1][0])[:12]:
        print(f"  {ns / 1e6:9.2f} {count:7d}  {name}")

    bins = [(5e3, "< 5 us"), (20e3, "5-20 us"), (100e3, "20-100 us"), (1e6, "0.1-1 ms"), (float("inf"), ">= 1 ms")]
    idle = collections.OrderedDict((label, [0, 0]) for _, label in bins)
    for g in gaps:
        label = next(label for bound, label in bins if g[0] < bound)
        idle[label][0] += g[0]
        idle[label][1] += 1
    print("idle time by gap length: " + ", ".join(f"{label} {ns / 1e6:.2f} ms ({n})" for label, (ns, n) in idle.items()))

    api_starts = [r[1] for r in api]
    print(f"the {listed} largest gaps:")
    for g in sorted(gaps, key=lambda g: -g[0])[:listed]:
        first, last = bisect.bisect_left(api_starts, g[1]), bisect.bisect_left(api_starts, g[2])
        during = collections.Counter(r[3] for r in api[max(0, first - 1):last])
        print(f"  {g[0] / 1e3:9.1f} us after {short(g[3][3])}\n"
              f"               before {short(g[4][3])}\n"
              f"               host calls: {dict(during.most_common(4))}")


if __name__ == "__main__":
    main()
