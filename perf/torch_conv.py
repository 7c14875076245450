#!/usr/bin/env python3
"""perf/torch_conv.py — the shapes of perf/bench_conv.c in PyTorch (fp32, TF32 off), printing
JSON in bench_conv's layout (same shape names and op names) so a run on the same machine can
be compared side by side.
  python3 perf/torch_conv.py [--small] [--device cpu|cuda] [--runs N] [--only 2d|3d] [--shape S1,S2]
  python3 perf/torch_conv.py --join MEDCL.json TORCH.json
Times forward, backward-data (input gradient) and backward-weight (weight gradient) with
torch.nn.grad calls; median of N runs after a warm-up, synchronized. --join reads the JSON of
`bench_conv --json` and of this script and prints, per shape and op, both medians and
torch/medcl (the fraction of PyTorch's speed medcl reaches; the GPU target is >= 0.8)."""
import argparse
import datetime
import json
import statistics
import time

import sys

FULL = [
    ("2d L0 32 256^2", 2, 16, 32, 32, 256, 3, 1), ("2d L1 64 128^2", 2, 16, 64, 64, 128, 3, 1),
    ("2d L2 128 64^2", 2, 16, 128, 128, 64, 3, 1), ("2d L3 256 32^2", 2, 16, 256, 256, 32, 3, 1),
    ("2d L4 512 16^2", 2, 16, 512, 512, 16, 3, 1), ("2d down 32->64 256^2 s2", 2, 16, 32, 64, 256, 3, 2),
    ("2d down 256->512 32^2 s2", 2, 16, 256, 512, 32, 3, 2),
    ("3d L0 32 128^3", 3, 2, 32, 32, 128, 3, 1), ("3d L1 64 64^3", 3, 2, 64, 64, 64, 3, 1),
    ("3d L2 128 32^3", 3, 2, 128, 128, 32, 3, 1), ("3d L3 256 16^3", 3, 2, 256, 256, 16, 3, 1),
    ("3d L4 320 8^3", 3, 2, 320, 320, 8, 3, 1), ("3d down 32->64 128^3 s2", 3, 2, 32, 64, 128, 3, 2),
]
SMALL = [
    ("2d 64 64^2 (N=4)", 2, 4, 64, 64, 64, 3, 1), ("2d 256 16^2 (N=4)", 2, 4, 256, 256, 16, 3, 1),
    ("2d down 64->128 64^2 s2 (N=4)", 2, 4, 64, 128, 64, 3, 2), ("3d 32 32^3 (N=1)", 3, 1, 32, 32, 32, 3, 1),
    ("3d 128 8^3 (N=2)", 3, 2, 128, 128, 8, 3, 1),
]


def timeit(fn, dev, runs):
    fn()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), min(ts), max(ts)


def join(medcl_path, torch_path):
    with open(medcl_path) as f:
        m = json.load(f)
    with open(torch_path) as f:
        t = json.load(f)
    tt = {(r["shape"], r["op"]): r for r in t["results"]}
    print("medcl: %s (%s) | torch: %s (%s)" % (m.get("device"), m.get("date"), t.get("device"), t.get("framework")))
    print("%-30s %-10s %10s %10s %12s" % ("shape", "op", "medcl ms", "torch ms", "torch/medcl"))
    ratios = []
    for r in m["results"]:
        o = tt.get((r["shape"], r["op"]))
        if o is None:
            continue
        q = o["median_ms"] / r["median_ms"]
        ratios.append(q)
        print("%-30s %-10s %10.3f %10.3f %12.3f" % (r["shape"], r["op"], r["median_ms"], o["median_ms"], q))
    if ratios:
        g = 1.0
        for q in ratios:
            g *= q
        print("geometric mean torch/medcl over %d rows: %.3f (min %.3f)" % (len(ratios), g ** (1.0 / len(ratios)),
                                                                          min(ratios)))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--join":
        join(sys.argv[2], sys.argv[3])
        return
    global torch, F
    import torch
    import torch.nn.functional as F
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", choices=["2d", "3d"])
    ap.add_argument("--shape", help="comma-separated substrings of shape names (as bench_conv --shape)")
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device(a.device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu (%d threads)" % torch.get_num_threads()
    out = {"bench": "conv", "framework": "pytorch " + torch.__version__, "device": name,
           "date": datetime.date.today().isoformat(), "results": []}
    for (label, nd, n, cin, cout, s, k, stride) in (SMALL if a.small else FULL):
        if a.only and not label.startswith(a.only):
            continue
        if a.shape and not any(p and p in label for p in a.shape.split(",")):
            continue
        conv = F.conv2d if nd == 2 else F.conv3d
        x = torch.randn((n, cin) + (s,) * nd, device=dev)
        w = torch.randn((cout, cin) + (k,) * nd, device=dev)
        y = conv(x, w, stride=stride, padding=k // 2)
        dy = torch.randn_like(y)
        gemm_n = n * y[0, 0].numel()
        gemm_k = cin * k ** nd
        flops = 2.0 * cout * gemm_n * gemm_k
        grad = torch.nn.grad
        ops = {
            "fwd": lambda: conv(x, w, stride=stride, padding=k // 2),
            "bwd-data": lambda: (grad.conv2d_input if nd == 2 else grad.conv3d_input)(
                x.shape, w, dy, stride=stride, padding=k // 2),
            "bwd-weight": lambda: (grad.conv2d_weight if nd == 2 else grad.conv3d_weight)(
                x, w.shape, dy, stride=stride, padding=k // 2),
        }
        with torch.no_grad():
            for op, fn in ops.items():
                med, lo, hi = timeit(fn, dev, a.runs)
                out["results"].append({"shape": label, "op": op, "N": n, "Cin": cin, "Cout": cout, "spatial": s,
                                       "dims": nd, "stride": stride, "gemm_m": cout, "gemm_n": gemm_n,
                                       "gemm_k": gemm_k, "median_ms": med * 1e3, "min_ms": lo * 1e3,
                                       "max_ms": hi * 1e3, "runs": a.runs, "gflops": flops / med * 1e-9})
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
