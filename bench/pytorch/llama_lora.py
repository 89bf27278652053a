"""The transformers side of bench/llama-lora.ts: LlamaForCausalLM.from_pretrained on the directory
maskwise wrote (config.json, model.safetensors) and PeftModel.from_pretrained(is_trainable=True)
on its adapter/ (PEFT's LoRA, the same A and B maskwise starts from), then on inputs.json:

    decode      batch 1, greedy generate on the KV cache, exactly new_tokens new tokens
                (min_new_tokens = max_new_tokens: eos cannot end it early)
    train-step  model.train(); the causal-LM loss of the fixed batch (labels = ids, shifted by
                transformers), backward, AdamW (lr from inputs.json, no weight decay) on the
                adapter's parameters alone, zero_grad

each in float32 and under torch.autocast("cpu", dtype=torch.bfloat16) (mixed precision: products
in bfloat16, weights, gradients and AdamW in float32); decode also on a bfloat16 copy of the model
(model.to(torch.bfloat16): the weights cast once, not at every step as autocast does). Checks
first, in float32: the loss of the batch, the greedy ids and the sum of their log-probabilities,
and the loss after one AdamW step. One warm-up run of each measure, then --reps timed runs.
Prints one JSON line (bench/llama-lora-report.ts's WorkerResult):
{"side":"transformers","eval_loss":…,"loss_after_step":…,"ids":[…],"seconds":{"decode float32":[…],…}}
with keys "decode float32", "decode bfloat16" (autocast), "decode bfloat16-weights",
"train-step float32" and "train-step bfloat16" (autocast).
Needs transformers 5.18, PEFT and torch 2.13 (the venv of ../shared/tools/hf_oracle/setup_venv.sh).

    python bench/pytorch/llama_lora.py --dir DIR [--reps 2] [--threads N] [--precision P]
"""
import copy
import os

import torch
from transformers import LlamaForCausalLM

from peer import from_pretrained_exact, hf_peer_start, print_hf, timed

args, inputs = hf_peer_start(reps=2, precision=True)
# The precisions timed: both, or the one --precision names (bfloat16 autocast takes minutes a
# step on a CPU without bfloat16 instructions).
timed_bf16 = [bf16 for bf16 in (False, True) if args.precision in (None, "bfloat16" if bf16 else "float32")]

import peft  # noqa: E402
from peft import PeftModel  # noqa: E402

base = from_pretrained_exact(LlamaForCausalLM, args.dir, dtype=torch.float32)
model = PeftModel.from_pretrained(base, os.path.join(args.dir, "adapter"), is_trainable=True)
ids = torch.tensor(inputs["input_ids"])
mask = torch.ones_like(ids)

model.eval()
with torch.no_grad():
    eval_loss = float(model(input_ids=ids, attention_mask=mask, labels=ids).loss)


prompt = torch.tensor([inputs["prompt"]])
prompt_mask = torch.ones_like(prompt)
new = inputs["new_tokens"]
eos = model.config.eos_token_id


def decode(bf16, m=model, check=False):
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        out = m.generate(
            input_ids=prompt,
            attention_mask=prompt_mask,
            do_sample=False,
            num_beams=1,
            max_new_tokens=new,
            min_new_tokens=new,
            use_cache=True,
            pad_token_id=eos,
            return_dict_in_generate=check,
            output_logits=check,
        )
    if not check:
        return out[0, prompt.shape[1]:]
    # The raw logits of each step (before min_new_tokens masks eos), as maskwise sums them.
    new_ids = out.sequences[0, prompt.shape[1]:]
    logp = torch.log_softmax(torch.stack(out.logits)[:, 0].float(), dim=-1)
    return new_ids.tolist(), float(logp.gather(1, new_ids[:, None]).sum())


greedy_ids, log_prob = decode(False, check=True)
seconds = {}
for bf16 in timed_bf16:
    seconds[f"decode {'bfloat16' if bf16 else 'float32'}"] = timed(lambda: decode(bf16), args.reps)
if True in timed_bf16:
    # autocast casts every weight to bfloat16 again at each step; a bfloat16 copy of the model
    # (adapter included) is cast once, as maskwise's bfloat16 copies of the weights are.
    model_bf16 = copy.deepcopy(model).to(torch.bfloat16)
    seconds["decode bfloat16-weights"] = timed(lambda: decode(False, model_bf16), args.reps)
    del model_bf16

model.train()
params = [p for p in model.parameters() if p.requires_grad]
opt = torch.optim.AdamW(params, lr=inputs["lr"], betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
last = [float("nan")]


def step(bf16):
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        loss = model(input_ids=ids, attention_mask=mask, labels=ids).loss
    last[0] = float(loss)
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)


# The check: the first step's loss is eval_loss; the second's follows one AdamW update.
step(False)
step(False)
loss_after_step = last[0]
for bf16 in timed_bf16:
    seconds[f"train-step {'bfloat16' if bf16 else 'float32'}"] = timed(lambda: step(bf16), args.reps)

print_hf(
    {"peft": peft.__version__},
    trainable_parameters=sum(p.numel() for p in params),
    eval_loss=eval_loss,
    loss_after_step=loss_after_step,
    ids=greedy_ids,
    log_prob=log_prob,
    seconds=seconds,
)
