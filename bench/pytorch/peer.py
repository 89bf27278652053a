"""What the PyTorch peers in bench/pytorch share: how a measure is timed, the JSON line the
peers of `maskwise bench` print (with torch_info.py's object), and the start and the JSON line of
the transformers peers that load the directory a maskwise benchmark wrote (marian_size.py for
bench/marian-size.ts, llama_lora.py for bench/llama-lora.ts).
"""
import argparse
import json
import os
import statistics
import time

import torch

from torch_info import torch_info


def timed(fn, reps, warmup=1):
    """`warmup` untimed calls of fn, then the seconds of each of `reps` timed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def median_seconds(fn, reps, warmup=1):
    """The median of timed(fn, reps, warmup)."""
    return statistics.median(timed(fn, reps, warmup))


def print_bench(name, **fields):
    """The one JSON line of a `maskwise bench` peer: {"bench": name, …fields, "torch": {…}}."""
    print(json.dumps({"bench": name, **fields, "torch": torch_info()}))


def hf_peer_start(reps, precision=False):
    """The arguments of a transformers peer (--dir DIR, --reps, --threads: every core unless
    given; with precision, --precision float32|bfloat16 to time one of them, both unless given),
    with PyTorch set to those threads and seeded with 0; returns the arguments and
    DIR/inputs.json."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--reps", type=int, default=reps)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    if precision:
        parser.add_argument("--precision", choices=["float32", "bfloat16"], default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with open(os.path.join(args.dir, "inputs.json")) as f:
        inputs = json.load(f)
    return args, inputs


def from_pretrained_exact(cls, path, **kwargs):
    """cls.from_pretrained(path) that stops the peer when a weight is missing or left over: the
    comparison holds only on exactly the weights maskwise computes with."""
    model, info = cls.from_pretrained(path, output_loading_info=True, **kwargs)
    if info["missing_keys"] or info["unexpected_keys"]:
        raise SystemExit(
            f"from_pretrained: missing {info['missing_keys']}, unexpected {info['unexpected_keys']}")
    return model


def print_hf(versions, **fields):
    """The one JSON line of a transformers peer: {"side": "transformers", "threads", "versions":
    torch's and transformers' and those given, …fields}."""
    import transformers

    print(json.dumps({
        "side": "transformers",
        "threads": torch.get_num_threads(),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     **versions},
        **fields,
    }))
