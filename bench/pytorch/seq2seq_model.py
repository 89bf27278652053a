"""The model of ../shared/bench/train-step.json in PyTorch, for train_step.py and decode.py:
nn.Transformer, pre-norm 3+3 with final norms, d_model 256, 4 heads, FFN 1024, ReLU, dropout 0,
sinusoidal positions, embeddings scaled by sqrt(d_model), untied output with bias, weights drawn
from N(0, 0.02) (from torch's generator: seed it first).
"""
import math

import torch
from torch import nn

V, D, H, F, L = 8000, 256, 4, 1024, 3


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
