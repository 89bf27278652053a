"""The peer of `maskwise bench decode`: the runs of ../shared/bench/decode.json in PyTorch on the
model of ../shared/bench/train-step.json, for side-by-side figures on one machine:

    python bench/pytorch/decode.py [--threads N] [--runs 5] [--bf16]
    # prints {"bench":"decode-pytorch",…,"torch":{…}} (see bench/pytorch/torch_info.py)

The model is train_step.py's (seq2seq_model.py: nn.Transformer, pre-norm 3+3, d_model 256,
4 heads, FFN 1024, ReLU, sinusoidal positions, embeddings scaled by sqrt(d_model), untied output
with bias), random weights, batch 1, a 32-token source of random ids in [1, V). Decoding runs on a KV cache written
with the layers' own weights: the source is encoded once and each decoder layer's cross-attention
keys and values are projected once; every step feeds one token per hypothesis, appends its keys
and values in place into preallocated caches [rows, H, 32, Dh] and attends over the filled part.
Greedy takes the argmax; beam 5 (length penalty 1, eos ignored) keeps the best 2K continuations
by summed log-probability with torch.topk and reorders the self-attention caches with
index_select. Exactly 32 new tokens each; one warm-up run, then the median of 5, as maskwise.

Attention is torch.nn.functional.scaled_dot_product_attention where the build has it (2.x), an
explicit softmax of the scores otherwise (1.13). Threads: the build's own default unless
--threads says (Debian's 1.13 is fastest with one; bench/compare.ts sets it). --bf16 runs the
decoding steps under torch.autocast("cpu", dtype=torch.bfloat16): the decoder's products take
bfloat16 operands (oneDNN in the wheels); the encoder, the cross-attention keys and values, the
caches and the log-softmax stay float32, as in `maskwise bench decode --bf16`, its peer.
"""
import argparse, math
import torch
import torch.nn.functional as Fn

from peer import median_seconds, print_bench
from seq2seq_model import D, H, V, Model
from torch_info import set_threads

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=None,
                    help="intra-op threads (default: the build's own)")
parser.add_argument("--runs", type=int, default=5)
parser.add_argument("--bf16", action="store_true",
                    help="decode under CPU autocast to bfloat16")
args = parser.parse_args()
set_threads(args.threads)
torch.manual_seed(0)
DH = D // H
S, NEW, BEAM = 32, 32, 5


SDPA = getattr(Fn, "scaled_dot_product_attention", None)


def heads(x):  # [R, T, D] -> [R, H, T, Dh]
    return x.view(x.shape[0], -1, H, DH).transpose(1, 2)


class Decoder:
    """The decoder of `model` as a stepper over rows with KV caches (one token per row per step)."""

    def __init__(self, model, src):
        self.m = model
        core = model.core
        self.layers = core.decoder.layers
        self.cross = []  # per layer: keys, values [1, H, S, Dh]
        # The source side in float32 under --bf16 too, as maskwise's --bf16 keeps it (and
        # 1.13's fused encoder layer fails under autocast).
        with torch.autocast("cpu", enabled=False):
            x = model.src_emb(src) * math.sqrt(D) + model.pe[: src.shape[1]]
            memory = core.encoder(x)  # the encoder's final norm included
            for layer in self.layers:
                w, b = layer.multihead_attn.in_proj_weight, layer.multihead_attn.in_proj_bias
                k = Fn.linear(memory, w[D:2 * D], b[D:2 * D])
                v = Fn.linear(memory, w[2 * D:], b[2 * D:])
                self.cross.append((heads(k), heads(v)))
        self.rows = 1
        self.t = 0
        self.k = [torch.zeros(1, H, NEW, DH) for _ in self.layers]
        self.v = [torch.zeros(1, H, NEW, DH) for _ in self.layers]

    def attend(self, q, k, v):  # q [R, H, 1, Dh], k and v [R or 1, H, T, Dh]
        if SDPA:
            # The cross-attention keys are [1, H, S, Dh] for all R rows: expand is a view.
            return SDPA(q, k.expand(q.shape[0], -1, -1, -1), v.expand(q.shape[0], -1, -1, -1))
        w = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(DH), dim=-1)
        return torch.matmul(w, v)

    def next(self, tokens):  # tokens [R] -> logits [R, V]
        m, t, R = self.m, self.t, tokens.shape[0]
        x = (m.tgt_emb(tokens) * math.sqrt(D) + m.pe[t])[:, None, :]  # [R, 1, D]
        for i, layer in enumerate(self.layers):
            sa = layer.self_attn
            h = layer.norm1(x)
            qkv = Fn.linear(h, sa.in_proj_weight, sa.in_proj_bias)
            q, k, v = qkv.split(D, dim=-1)
            self.k[i][:, :, t:t + 1] = heads(k)
            self.v[i][:, :, t:t + 1] = heads(v)
            o = self.attend(heads(q), self.k[i][:, :, : t + 1], self.v[i][:, :, : t + 1])
            x = x + sa.out_proj(o.transpose(1, 2).reshape(R, 1, D))
            ca = layer.multihead_attn
            h = layer.norm2(x)
            q = Fn.linear(h, ca.in_proj_weight[:D], ca.in_proj_bias[:D])
            ck, cv = self.cross[i]
            o = self.attend(heads(q), ck, cv)
            x = x + ca.out_proj(o.transpose(1, 2).reshape(R, 1, D))
            h = layer.norm3(x)
            x = x + layer.linear2(torch.relu(layer.linear1(h)))
        x = m.core.decoder.norm(x)
        self.t += 1
        return m.out(x[:, 0])

    def reorder(self, keep):  # keep [R'] rows
        for i in range(len(self.layers)):
            self.k[i] = self.k[i].index_select(0, keep)
            self.v[i] = self.v[i].index_select(0, keep)
        self.rows = keep.shape[0]


def greedy(model, src):
    dec = Decoder(model, src)
    tok = torch.tensor([1])
    out = []
    for _ in range(NEW):
        lp = torch.log_softmax(dec.next(tok), dim=-1)
        tok = lp.argmax(dim=-1)
        out.append(int(tok[0]))
    return out


def beam(model, src):
    dec = Decoder(model, src)
    tokens = torch.tensor([1])
    scores = torch.zeros(1)
    hyps = [[]]
    for step in range(NEW):
        lp = torch.log_softmax(dec.next(tokens), dim=-1)  # [R, V]
        cand = (scores[:, None] + lp).view(-1)
        top, idx = torch.topk(cand, 2 * BEAM)  # eos ignored: the best K continue
        top, idx = top[:BEAM], idx[:BEAM]
        rows, tokens = idx // V, idx % V
        scores = top
        hyps = [hyps[r] + [int(t)] for r, t in zip(rows.tolist(), tokens.tolist())]
        if step < NEW - 1:
            dec.reorder(rows)
    best = int(torch.argmax(scores / NEW))
    return hyps[best]


model = Model().eval()
src = torch.randint(1, V, (1, S))
with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
    produced = {}
    g = median_seconds(lambda: produced.__setitem__("g", len(greedy(model, src))), args.runs)
    b = median_seconds(lambda: produced.__setitem__("b", len(beam(model, src))), args.runs)
print_bench("decode-pytorch", autocast_bf16=args.bf16,
            attention="scaled_dot_product_attention" if SDPA else "softmax(q k^T) v",
            new_tokens=NEW, greedy_tokens=produced["g"], beam5_tokens=produced["b"],
            greedy_s=g, beam5_s=b, greedy_tok_s=NEW / g, beam5_tok_s=NEW / b)
