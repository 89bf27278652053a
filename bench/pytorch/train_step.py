"""The peer of `maskwise bench train-step`: the same step of ../shared/bench/train-step.json in
PyTorch (Debian's python3-torch 1.13), for side-by-side figures on one machine:

    /usr/bin/python3 bench/pytorch/train_step.py [--torch-threads N]

prints {"bench":"train-step-pytorch",...}. The issue's PyTorch figure was measured with OpenBLAS
(Debian's pthread build) on both cores and one PyTorch thread, with OpenBLAS choosing its own
kernels (this machine's environment pins OPENBLAS_CORETYPE=Haswell, i.e. AVX2 kernels on an
AVX-512 CPU, and a 512 KiB L2): reproduce it with

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=2 \
        /usr/bin/python3 bench/pytorch/train_step.py --torch-threads 1

Pre-norm 3+3 encoder-decoder (nn.Transformer with norm_first, final norms), d_model 256, 4 heads,
FFN 1024, ReLU, sinusoidal positions, embeddings scaled by sqrt(d_model), untied output with bias,
dropout 0; batch 32 x 32 with row b holding 32 - 2*(b % 8) real tokens; Adam lr 1e-4; 2 warm-up
steps, then the median of 10. --bf16 runs the forward pass and the loss under
torch.autocast("cpu", dtype=torch.bfloat16) (PyTorch's mixed precision on CPU: its products in
bfloat16, weights and Adam in float32), the peer of `maskwise bench train-step --bf16`.
"""
import argparse, json, math, os, statistics, time
import torch
from torch import nn

cli = argparse.ArgumentParser()
cli.add_argument("--torch-threads", type=int, default=os.cpu_count() or 1,
                 help="PyTorch intra-op threads (OpenBLAS sizes its own pool: OPENBLAS_NUM_THREADS)")
cli.add_argument("--bf16", action="store_true",
                 help="forward and loss under CPU autocast to bfloat16 (mixed precision)")
args = cli.parse_args()
torch.set_num_threads(args.torch_threads)
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
        causal = torch.triu(torch.full((tgt.shape[1],) * 2, float("-inf")), 1)
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


for _ in range(2):
    step()
times = []
for _ in range(10):
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
median = statistics.median(times)
print(json.dumps({"bench": "train-step-pytorch", "torch": torch.__version__,
                  "threads": torch.get_num_threads(),
                  "autocast_bf16": args.bf16,
                  "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
                  "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
                  "median_step_s": median,
                  "tokens_per_s": B * T / median}))
