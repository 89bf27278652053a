"""The peer of `maskwise bench train-step`: the same step of ../shared/bench/train-step.json in
PyTorch, for side-by-side figures on one machine:

    python bench/pytorch/train_step.py [--torch-threads N] [--bf16] [--steps 10] [--warmup 2]

prints {"bench":"train-step-pytorch",…,"torch":{…}} (bench/pytorch/torch_info.py says what the
"torch" object holds). It runs on any PyTorch from 1.13 on. The 2.x wheels (MKL, oneDNN,
OpenMP) are run with their own thread default (one per core); nn.MultiheadAttention there
computes attention with scaled_dot_product_attention ("mha_uses_sdpa" in the line). Debian's
python3-torch 1.13 multiplies with OpenBLAS, which sizes its own thread pool: it is fastest with
OpenBLAS on every core, one PyTorch thread and OpenBLAS choosing its own kernels (an environment
that pins OPENBLAS_CORETYPE=Haswell gives AVX2 kernels on an AVX-512 CPU):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=2 \
        /usr/bin/python3 bench/pytorch/train_step.py --torch-threads 1

bench/compare.ts picks the build and sets these itself.

Pre-norm 3+3 encoder-decoder (nn.Transformer with norm_first, final norms), d_model 256, 4 heads,
FFN 1024, ReLU, sinusoidal positions, embeddings scaled by sqrt(d_model), untied output with bias,
dropout 0; batch 32 x 32 with row b holding 32 - 2*(b % 8) real tokens; Adam lr 1e-4; 2 warm-up
steps, then the median of 10 (--warmup, --steps). --bf16 runs the forward pass and the loss under
torch.autocast("cpu", dtype=torch.bfloat16) (PyTorch's mixed precision on CPU: its products in
bfloat16, weights and Adam in float32), the peer of `maskwise bench train-step --bf16`.
"""
import argparse, json, math, statistics, time
import torch
from torch import nn

from torch_info import set_threads, torch_info

cli = argparse.ArgumentParser()
cli.add_argument("--torch-threads", type=int, default=None,
                 help="PyTorch intra-op threads (default: the build's own; OpenBLAS sizes its own "
                      "pool: OPENBLAS_NUM_THREADS)")
cli.add_argument("--bf16", action="store_true",
                 help="forward and loss under CPU autocast to bfloat16 (mixed precision)")
cli.add_argument("--steps", type=int, default=10, help="timed steps (the median counts)")
cli.add_argument("--warmup", type=int, default=2, help="untimed steps first")
args = cli.parse_args()
set_threads(args.torch_threads)
torch.manual_seed(0)
V, D, H, F, L, B, S, T = 8000, 256, 4, 1024, 3, 32, 32, 32


def sinusoid(n, d):
    pos = torch.arange(n, dtype=torch.float64)[:, None]
    freq = 10000.0 ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    pe = torch.zeros(n, d, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe.float()


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.src_emb, self.tgt_emb = nn.Embedding(V, D), nn.Embedding(V, D)
        self.core = nn.Transformer(D, H, L, L, F, dropout=0.0, activation="relu",
                                   batch_first=True, norm_first=True)
        self.out = nn.Linear(D, V)
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.normal_(p, std=0.02)
        self.register_buffer("pe", sinusoid(64, D))

    def forward(self, src, src_pad, tgt, tgt_pad):
        x = self.src_emb(src) * math.sqrt(D) + self.pe[: src.shape[1]]
        y = self.tgt_emb(tgt) * math.sqrt(D) + self.pe[: tgt.shape[1]]
        # True = may not attend, as the padding masks (one mask type: PyTorch 2.x warns on two).
        causal = torch.triu(torch.ones(tgt.shape[1], tgt.shape[1], dtype=torch.bool), 1)
        h = self.core(x, y, tgt_mask=causal, src_key_padding_mask=src_pad,
                      tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=src_pad)
        return self.out(h)


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


for _ in range(args.warmup):
    step()
times = []
for _ in range(args.steps):
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
median = statistics.median(times)
print(json.dumps({"bench": "train-step-pytorch", "autocast_bf16": args.bf16,
                  "steps": args.steps, "median_step_s": median, "tokens_per_s": B * T / median,
                  "torch": torch_info()}))
