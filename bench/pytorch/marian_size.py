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
import torch
from transformers import MarianMTModel

from peer import from_pretrained_exact, hf_peer_start, print_hf, timed

args, inputs = hf_peer_start(reps=3)
model = from_pretrained_exact(MarianMTModel, args.dir)
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
print_hf({}, eval_loss=eval_loss, decode_s=decode_s, train_step_s=step_s, ids=ids)
