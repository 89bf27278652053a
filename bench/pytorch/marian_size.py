"""The transformers side of bench/marian-size.ts: MarianMTModel.from_pretrained on the directory
maskwise wrote (config.json, model.safetensors: the same weights maskwise computes with), then
the two measures on the inputs it wrote (inputs.json):

    decode      batch 1, greedy generate with the KV cache, exactly new_tokens new tokens
                (min_new_tokens = max_new_tokens, so eos cannot end it early)
    train-step  model.train(); loss of the fixed batch (the given decoder inputs and labels),
                backward, AdamW (lr 5e-5, no weight decay), zero_grad

One warm-up run of each, then --reps timed runs. Prints one JSON line:
{"side":"transformers","eval_loss":…,"decode_s":[…],"train_step_s":[…],"ids":[…]}.
Needs transformers 5.18 and torch 2.13 (the venv of ../shared/tools/hf_oracle/setup_venv.sh).

    python bench/pytorch/marian_size.py --dir DIR [--reps 3] [--threads N]
"""
import argparse
import json
import os
import time

import torch
from transformers import MarianMTModel

parser = argparse.ArgumentParser()
parser.add_argument("--dir", required=True)
parser.add_argument("--reps", type=int, default=3)
parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)

inputs = json.load(open(os.path.join(args.dir, "inputs.json")))
model, info = MarianMTModel.from_pretrained(args.dir, output_loading_info=True)
if info["missing_keys"] or info["unexpected_keys"]:
    raise SystemExit(f"from_pretrained: missing {info['missing_keys']}, unexpected {info['unexpected_keys']}")
b = inputs["batch"]
batch = {
    "input_ids": torch.tensor(b["input_ids"]),
    "attention_mask": torch.ones(len(b["input_ids"]), len(b["input_ids"][0]), dtype=torch.long),
    "decoder_input_ids": torch.tensor(b["decoder_input_ids"]),
    "labels": torch.tensor(b["labels"]),
}
model.eval()
with torch.no_grad():
    eval_loss = float(model(**batch).loss)


def timed(fn, reps):
    fn()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


source = torch.tensor([inputs["source"]])
source_mask = torch.ones_like(source)
new = inputs["new_tokens"]
ids = []


def decode():
    global ids
    out = model.generate(
        input_ids=source,
        attention_mask=source_mask,
        do_sample=False,
        num_beams=1,
        max_new_tokens=new,
        min_new_tokens=new,
        use_cache=True,
    )
    ids = out[0, 1:].tolist()  # the new tokens, after the decoder start


decode_s = timed(decode, args.reps)

model.train()
opt = torch.optim.AdamW(model.parameters(), lr=5e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)


def step():
    loss = model(**batch).loss
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)


step_s = timed(step, args.reps)
print(
    json.dumps(
        {
            "side": "transformers",
            "threads": torch.get_num_threads(),
            "versions": {"torch": torch.__version__, "transformers": __import__("transformers").__version__},
            "eval_loss": eval_loss,
            "decode_s": decode_s,
            "train_step_s": step_s,
            "ids": ids,
        }
    )
)
