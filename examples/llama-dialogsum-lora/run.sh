#!/bin/sh
# A small Llama-style model, LoRA against full fine-tuning. The recipe writes a llama config.json
# (transformers' layout: RMSNorm, rotary positions, SwiGLU, grouped-query attention) and
# pretrains it as a causal LM (`pretrain --objective clm --config config.json`) on
# ../shared/data/text plus the DialogSum training dialogues, with a BPE trained on that text.
# The pretrained weights become a transformers directory (config.json, model.safetensors,
# tokenizer.json, and a tokenizer_config.json with a small chat template: the dialogue in the
# user turn, the summary as the assistant's answer). From it, for the same MINUTES each:
#   (a) LoRA SFT (`train --task chat --lora-r 16 --lora-targets all-linear`, base frozen);
#   (b) full fine-tuning of every weight (`train --task chat`).
# Each best checkpoint summarizes the 500 DialogSum test dialogues (`generate --chat`, greedy),
# scored with `maskwise eval rouge` (ROUGE-1/2/L F1, Porter stemming) against the three
# references and against summary1. A table gives ROUGE, training minutes and peak memory (the
# maximum resident set size of the training process, from GNU time -v; null without it).
#
#   DATA=../shared/data OUT=runs/llama-dialogsum-lora PRETRAIN_MINUTES=30 MINUTES=20 \
#     sh examples/llama-dialogsum-lora/run.sh
#   SMOKE=1 sh examples/llama-dialogsum-lora/run.sh
# PRETRAIN_WARMUP (300) sets the pretraining warmup (fewer for a shorter or slower pretraining);
# MASKWISE_THREADS the threads of every step. Steps that finished are kept when run again.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
cd "$REPO"
DATA=${DATA:-$REPO/../shared/data}
OUT=${OUT:-$REPO/runs/llama-dialogsum-lora}
PRETRAIN_MINUTES=${PRETRAIN_MINUTES:-30}
MINUTES=${MINUTES:-20}
PRETRAIN_WARMUP=${PRETRAIN_WARMUP:-300}
SMOKE=${SMOKE:-0}
DS=$DATA/dialogsum
mkdir -p "$OUT/data" "$OUT/base"

# Pretraining text: verses, fortunes and the training dialogues, one a line.
cat "$DATA/text/kjv.verses.txt" "$DATA/text/fortunes.en.txt" "$DATA/text/fortunes.de.txt" > "$OUT/data/mono.txt"
sh "$REPO/examples/dialogsum/extract.sh" dialogue < "$DS/dialogsum.train.jsonl" >> "$OUT/data/mono.txt"
cp "$DS/dialogsum.train.jsonl" "$DS/dialogsum.dev.jsonl" "$DS/dialogsum.test.jsonl" "$OUT/data/"
if [ "$SMOKE" = 1 ]; then
  awk 'NR % 100 == 0' "$OUT/data/mono.txt" > "$OUT/data/mono.tmp" && mv "$OUT/data/mono.tmp" "$OUT/data/mono.txt"
  for s in train dev test; do
    n=100; [ "$s" = train ] || n=5
    head -n "$n" "$DS/dialogsum.$s.jsonl" > "$OUT/data/dialogsum.$s.jsonl"
  done
  VOCAB=600 HIDDEN=64 FFN=172 LAYERS=2 HEADS=4 KV_HEADS=2
  PRE="--max-steps 10 --max-tokens 2048 --warmup 5"
  FT="--max-steps 5 --max-tokens 4096 --warmup 2"
  NEW_TOKENS=20
else
  VOCAB=8000 HIDDEN=256 FFN=688 LAYERS=4 HEADS=4 KV_HEADS=2
  PRE="--max-minutes $PRETRAIN_MINUTES --max-tokens 8192 --schedule cosine --warmup $PRETRAIN_WARMUP"
  FT="--max-minutes $MINUTES --max-tokens 8192 --schedule cosine --warmup 100"
  NEW_TOKENS=100
fi

# The model: Llama's layout at a small size. Ids 0-2 are the BPE's <s>, <pad>, </s>. Rotary
# positions reach 2,048 so that the longest test dialogue (789 words) and its summary fit:
# `generate --chat` refuses a conversation longer than max_position_embeddings.
cat > "$OUT/config.json" <<JSON
{"architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":$VOCAB,
 "hidden_size":$HIDDEN,"intermediate_size":$FFN,"num_hidden_layers":$LAYERS,
 "num_attention_heads":$HEADS,"num_key_value_heads":$KV_HEADS,"hidden_act":"silu",
 "max_position_embeddings":2048,"rms_norm_eps":1e-5,"rope_theta":10000.0,
 "tie_word_embeddings":true,"attention_bias":false,"mlp_bias":false,
 "bos_token_id":0,"pad_token_id":1,"eos_token_id":2}
JSON

# Peak memory and minutes of one command: timed NAME COMMAND… writes $OUT/NAME.time.
if /usr/bin/time -v true > /dev/null 2>&1; then HAVE_TIME=1; else HAVE_TIME=0; fi
# A step that finished before (its .time file is there) is kept, so that a repeated run goes on
# where an interrupted one stopped instead of training again.
timed() {
  name=$1
  shift
  if [ -s "$OUT/$name.time" ]; then
    echo "$name: done before ($OUT/$name.time), kept" >&2
    return 0
  fi
  start=$(date +%s)
  if [ "$HAVE_TIME" = 1 ]; then
    /usr/bin/time -v -o "$OUT/$name.rusage" "$@"
    kb=$(sed -n 's/.*Maximum resident set size (kbytes): *\([0-9]*\).*/\1/p' "$OUT/$name.rusage")
  else
    "$@"
    kb=
  fi
  end=$(date +%s)
  echo "$((end - start)) ${kb:-null}" > "$OUT/$name.time"
}

# shellcheck disable=SC2086 # PRE and FT are lists of flags
timed pretrain npx maskwise pretrain --objective clm --config "$OUT/config.json" \
  --train "$OUT/data/mono.txt" --out "$OUT/clm" --vocab-size "$VOCAB" --max-len 512 --lr 1e-3 $PRE

# The base model as a transformers directory, with the chat template the tokenizer lacks.
for f in config.json model.safetensors tokenizer.json; do cp "$OUT/clm/checkpoints/best/$f" "$OUT/base/"; done
cat > "$OUT/base/tokenizer_config.json" <<'JSON'
{"bos_token":"<s>","eos_token":"</s>","pad_token":"<pad>","unk_token":"<unk>",
 "add_bos_token":false,"add_eos_token":false,"model_max_length":2048,
 "chat_template":"{% for message in messages %}{% if message['role'] == 'user' %}{{ bos_token + 'Dialogue: ' + message['content'] + ' Summary:' }}{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] + eos_token }}{% endif %}{% endfor %}"}
JSON

# Conversations: the training and dev dialogues with their summary; the test dialogues alone.
sh "$HERE/chats.sh" summary < "$OUT/data/dialogsum.train.jsonl" > "$OUT/data/train.chat.jsonl"
sh "$HERE/chats.sh" summary < "$OUT/data/dialogsum.dev.jsonl" > "$OUT/data/dev.chat.jsonl"
sh "$HERE/chats.sh" - < "$OUT/data/dialogsum.test.jsonl" > "$OUT/data/test.chat.jsonl"
for f in summary1 summary2 summary3; do
  sh "$REPO/examples/dialogsum/extract.sh" "$f" < "$OUT/data/dialogsum.test.jsonl" > "$OUT/data/test.$f"
done

rouge() { # rouge JSON TYPE -> F1 x 100
  sed -n "s/.*\"$2\":{[^}]*\"fmeasure\":\\([-0-9.e+]*\\).*/\\1/p" "$1" | awk '{ print $1 * 100 }'
}
score() { # score NAME: ROUGE of $OUT/NAME.test.summary -> $OUT/NAME.rouge.{3refs,summary1}.json
  npx maskwise eval rouge --stem --json --hyp "$OUT/$1.test.summary" \
    --ref "$OUT/data/test.summary1" --ref "$OUT/data/test.summary2" --ref "$OUT/data/test.summary3" \
    > "$OUT/$1.rouge.3refs.json"
  npx maskwise eval rouge --stem --json --hyp "$OUT/$1.test.summary" --ref "$OUT/data/test.summary1" \
    > "$OUT/$1.rouge.summary1.json"
}

# (a) LoRA: rank 16 on every linear layer but the head; the base stays as it is.
# shellcheck disable=SC2086
timed lora npx maskwise train --task chat --init-from "$OUT/base" \
  --train "$OUT/data/train.chat.jsonl" --valid "$OUT/data/dev.chat.jsonl" --out "$OUT/lora" \
  --max-len 1024 --lr 1e-3 --lora-r 16 --lora-alpha 32 --lora-targets all-linear $FT
npx maskwise generate --chat --model "$OUT/base" --adapter "$OUT/lora/checkpoints/best" \
  --max-new-tokens "$NEW_TOKENS" < "$OUT/data/test.chat.jsonl" > "$OUT/lora.test.summary"
score lora

# (b) Full fine-tuning: every weight, a smaller learning rate.
# shellcheck disable=SC2086
timed full npx maskwise train --task chat --init-from "$OUT/base" \
  --train "$OUT/data/train.chat.jsonl" --valid "$OUT/data/dev.chat.jsonl" --out "$OUT/full" \
  --max-len 1024 --lr 3e-4 $FT
npx maskwise generate --chat --model "$OUT/full/checkpoints/best" \
  --max-new-tokens "$NEW_TOKENS" < "$OUT/data/test.chat.jsonl" > "$OUT/full.test.summary"
score full

# The table: ROUGE F1 x 100 (three references; summary1 alone), training minutes, peak RSS.
row() { # row NAME -> JSON fields of one method
  read -r secs kb < "$OUT/$1.time"
  printf '"%s":{"rouge1":%s,"rouge2":%s,"rougeL":%s,"summary1_rouge1":%s,"summary1_rouge2":%s,"summary1_rougeL":%s,"train_minutes":%s,"peak_rss_mb":%s}' \
    "$1" "$(rouge "$OUT/$1.rouge.3refs.json" rouge1)" "$(rouge "$OUT/$1.rouge.3refs.json" rouge2)" \
    "$(rouge "$OUT/$1.rouge.3refs.json" rougeL)" "$(rouge "$OUT/$1.rouge.summary1.json" rouge1)" \
    "$(rouge "$OUT/$1.rouge.summary1.json" rouge2)" "$(rouge "$OUT/$1.rouge.summary1.json" rougeL)" \
    "$(awk -v s="$secs" 'BEGIN { printf "%.1f", s / 60 }')" \
    "$([ "$kb" = null ] && echo null || awk -v k="$kb" 'BEGIN { printf "%.0f", k / 1024 }')"
}
{
  printf '%-6s %8s %8s %8s %8s %12s\n' method ROUGE-1 ROUGE-2 ROUGE-L minutes peak-RSS-MB
  for m in lora full; do
    read -r secs kb < "$OUT/$m.time"
    printf '%-6s %8.2f %8.2f %8.2f %8.1f %12s\n' "$m" "$(rouge "$OUT/$m.rouge.3refs.json" rouge1)" \
      "$(rouge "$OUT/$m.rouge.3refs.json" rouge2)" "$(rouge "$OUT/$m.rouge.3refs.json" rougeL)" \
      "$(awk -v s="$secs" 'BEGIN { print s / 60 }')" \
      "$([ "$kb" = null ] && echo n/a || awk -v k="$kb" 'BEGIN { printf "%.0f", k / 1024 }')"
  done
} >&2

RESULT=$(printf '{"recipe":"llama-dialogsum-lora","smoke":%s,"pretrain_minutes":%s,"finetune_minutes":%s,%s,%s}' \
  "$SMOKE" "$([ "$SMOKE" = 1 ] && echo null || echo "$PRETRAIN_MINUTES")" "$([ "$SMOKE" = 1 ] && echo null || echo "$MINUTES")" \
  "$(row lora)" "$(row full)")
echo "$RESULT" > "$OUT/RESULTS.json"
echo "$RESULT"
