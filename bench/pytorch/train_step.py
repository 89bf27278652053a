"""The peer of `maskwise bench train-step`: the same step of ../shared/bench/train-step.json in
PyTorch, for side-by-side figures on one machine:

    python bench/pytorch/train_step.py [--threads N] [--bf16] [--steps 10] [--warmup 2]

prints {"bench":"train-step-pytorch",…,"torch":{…}} (bench/pytorch/torch_info.py says what the
"torch" object holds). It runs on any PyTorch from 1.13 on. The 2.x wheels (MKL, oneDNN,
OpenMP) are run with their own thread default (one per core); nn.MultiheadAttention there
computes attention with scaled_dot_product_attention ("mha_uses_sdpa" in the line). Debian's
python3-torch 1.13 multiplies with OpenBLAS, which sizes its own thread pool: it is fastest with
OpenBLAS on every core, one PyTorch thread and OpenBLAS choosing its own kernels (an environment
that pins OPENBLAS_CORETYPE=Haswell gives AVX2 kernels on an AVX-512 CPU):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=2 \
        /usr/bin/python3 bench/pytorch/train_step.py --threads 1

bench/compare.ts picks the build and sets these itself.

The model of seq2seq_model.py (pre-norm 3+3 encoder-decoder, nn.Transformer with norm_first and
final norms, d_model 256, 4 heads, FFN 1024, ReLU, sinusoidal positions, embeddings scaled by
sqrt(d_model), untied output with bias, dropout 0); batch 32 x 32 with row b holding 32 - 2*(b % 8) real tokens; Adam lr 1e-4; 2 warm-up
steps, then the median of 10 (--warmup, --steps). --bf16 runs the forward pass and the loss under
torch.autocast("cpu", dtype=torch.bfloat16) (PyTorch's mixed precision on CPU: its products in
bfloat16, weights and Adam in float32), the peer of `maskwise bench train-step --bf16`.
"""
import argparse
import torch
from torch import nn

from peer import median_seconds, print_bench
from seq2seq_model import V, Model
from torch_info import set_threads

cli = argparse.ArgumentParser()
# --threads as the other peers name it; --torch-threads is its older spelling.
cli.add_argument("--threads", "--torch-threads", dest="threads", type=int, default=None,
                 help="PyTorch intra-op threads (default: the build's own; OpenBLAS sizes its own "
                      "pool: OPENBLAS_NUM_THREADS)")
cli.add_argument("--bf16", action="store_true",
                 help="forward and loss under CPU autocast to bfloat16 (mixed precision)")
cli.add_argument("--steps", type=int, default=10, help="timed steps (the median counts)")
cli.add_argument("--warmup", type=int, default=2, help="untimed steps first")
args = cli.parse_args()
set_threads(args.threads)
torch.manual_seed(0)
B, S, T = 32, 32, 32


lengths = torch.tensor([32 - 2 * (b % 8) for b in range(B)])
pad = torch.arange(S)[None, :] >= lengths[:, None]  # True = padding (PyTorch's polarity)
src = torch.randint(1, V, (B, S)).masked_fill(pad, 0)
tgt = torch.randint(1, V, (B, T)).masked_fill(pad, 0)
labels = torch.randint(1, V, (B, T)).masked_fill(pad, -100)
model = Model()
opt = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-8)
loss_fn = nn.CrossEntropyLoss(ignore_index=-100)


def step():
    opt.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
        loss = loss_fn(model(src, pad, tgt, pad).reshape(-1, V).float(), labels.reshape(-1))
    loss.backward()
    opt.step()


median = median_seconds(step, args.steps, warmup=args.warmup)
print_bench("train-step-pytorch", autocast_bf16=args.bf16, steps=args.steps,
            median_step_s=median, tokens_per_s=B * T / median)
