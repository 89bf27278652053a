"""Which PyTorch a peer ran on, for the JSON line every script in bench/pytorch prints: version,
threads, the BLAS it was built with (MKL in the wheels, OpenBLAS in Debian's python3-torch),
oneDNN (MKL-DNN) and its version, the CPU capability it dispatches to, whether
scaled_dot_product_attention exists and whether nn.MultiheadAttention calls it, and the thread
and BLAS variables of the environment (they take effect when the library loads, so they are the
caller's to set: bench/compare.ts sets them per build).

    python bench/pytorch/torch_info.py   # prints the same object alone
"""
import inspect
import json
import os
import re
import sys

import torch
import torch.nn.functional as Fn

ENV_KEYS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE",
            "OPENBLAS_L2_SIZE", "DNNL_MAX_CPU_ISA", "ONEDNN_MAX_CPU_ISA")


def set_threads(n):
    """n threads for intra-op work; None keeps the build's own default (OpenMP: the cores)."""
    if n is not None:
        torch.set_num_threads(n)


def mha_uses_sdpa():
    """True when nn.MultiheadAttention (so nn.Transformer) computes attention with
    scaled_dot_product_attention, as the 2.x builds do when no attention weights are asked for."""
    try:
        return "scaled_dot_product_attention" in inspect.getsource(Fn.multi_head_attention_forward)
    except (OSError, TypeError):
        return None


def blas_library(blas):
    """The BLAS shared libraries this process has mapped after a product has run, for builds that
    link one at run time: Debian's says BLAS_INFO=generic and takes whichever libblas.so.3 the
    alternatives system points at (OpenBLAS's pthread build, or the slow reference BLAS when no
    other is installed). The wheels link MKL into libtorch_cpu (numpy's own OpenBLAS, mapped
    beside it, is not torch's)."""
    if blas == "mkl":
        return None
    torch.mm(torch.ones(2, 2), torch.ones(2, 2))
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "blas" in line.lower() or "mkl" in line}
    except OSError:
        return None
    real = sorted({os.path.realpath(p) for p in paths if p.startswith("/") and "numpy" not in p})
    return real or None


def torch_info():
    config = torch.__config__.show()
    blas = re.search(r"BLAS_INFO=(\w+)", config)
    dnnl = re.search(r"MKL-DNN v([\w.]+)", config)
    capability = None
    if hasattr(torch.backends, "cpu") and hasattr(torch.backends.cpu, "get_cpu_capability"):
        capability = torch.backends.cpu.get_cpu_capability()
    return {
        "version": torch.__version__,
        "python": sys.executable,
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "blas": blas.group(1) if blas else None,
        "blas_library": blas_library(blas.group(1) if blas else None),
        "mkl": torch.backends.mkl.is_available(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "mkldnn_version": dnnl.group(1) if dnnl else None,
        "openmp": torch.backends.openmp.is_available(),
        "cpu_capability": capability,
        "sdpa": hasattr(Fn, "scaled_dot_product_attention"),
        "mha_uses_sdpa": mha_uses_sdpa(),
        "env": {k: os.environ[k] for k in ENV_KEYS if k in os.environ},
    }


if __name__ == "__main__":
    print(json.dumps(torch_info()))
