"""The peer of `maskwise bench matmul`: torch.mm on the sizes the issue's GEMM bound names,
512^3, 1024^3 and M1024 x K256 x N1024, in float32 (MKL in the wheels, OpenBLAS in Debian's
build) or bfloat16 (oneDNN in the wheels, on AMX or AVX512_BF16 where the CPU has them; both
operands and the output bfloat16, as torch.mm does them).

    python bench/pytorch/matmul.py [--dtype float32|bfloat16] [--runs 11] [--threads N]

Timed as maskwise times its products: each size warmed up, then --runs rounds of one run of
every size, a run repeating the product (into a preallocated output) for about 0.04 s; the best
run of each size counts (the one least disturbed by other work on a shared machine). Prints
{"bench":"matmul-pytorch","dtype":…,"results":[{"m":…,"k":…,"n":…,"gflops":…},…],"torch":{…}}.
"""
import argparse
import time

import torch

from peer import print_bench
from torch_info import set_threads

SIZES = [(512, 512, 512), (1024, 1024, 1024), (1024, 256, 1024)]  # (M, K, N)
RUN_S = 0.04

cli = argparse.ArgumentParser()
cli.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
cli.add_argument("--runs", type=int, default=11)
cli.add_argument("--threads", type=int, default=None,
                 help="intra-op threads (default: the build's own)")
args = cli.parse_args()
set_threads(args.threads)
torch.manual_seed(0)
dtype = getattr(torch, args.dtype)

cases = []
for m, k, n in SIZES:
    a, b = torch.randn(m, k).to(dtype), torch.randn(k, n).to(dtype)
    c = torch.empty(m, n, dtype=dtype)
    # Repetitions per run: enough products for about RUN_S seconds, from a warmed-up estimate.
    for _ in range(3):
        torch.mm(a, b, out=c)
    t0 = time.perf_counter()
    torch.mm(a, b, out=c)
    one = max(time.perf_counter() - t0, 1e-6)
    cases.append({"m": m, "k": k, "n": n, "a": a, "b": b, "c": c,
                  "reps": max(1, int(RUN_S / one)), "best": 0.0})

for _ in range(args.runs):
    for case in cases:
        a, b, c, reps = case["a"], case["b"], case["c"], case["reps"]
        torch.mm(a, b, out=c)  # this size's operands back into the caches
        t0 = time.perf_counter()
        for _ in range(reps):
            torch.mm(a, b, out=c)
        seconds = time.perf_counter() - t0
        gflops = 2 * case["m"] * case["k"] * case["n"] * reps / seconds / 1e9
        case["best"] = max(case["best"], gflops)

print_bench("matmul-pytorch", dtype=args.dtype, runs=args.runs,
            results=[{"m": c["m"], "k": c["k"], "n": c["n"], "gflops": c["best"]} for c in cases])
