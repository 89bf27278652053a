#!/bin/sh
# The decoder-only side: a small causal LM pretrained on monolingual text (Multi30k's German and
# English sides plus ../shared/data/text and the DialogSum training dialogues), then fine-tuned on
# DialogSum as "<s> dialogue </s> summary </s>" twice from the same weights, for the same time:
# with --mask prefix (bidirectional over the dialogue, causal over the summary) and with
# --mask causal. The mask is the only difference. Each is scored with ROUGE-1/2/L F1 against
# summary1 of the 500 test dialogues (greedy, no trigram repeated, as the dialogsum recipe
# decodes), by a scoring pass: one update at learning rate 0
# (the weights do not move) whose validation set is the test set. Compare with the dialogsum
# recipe's summary1 figures.
#
#   DATA=../shared/data OUT=runs/prefix-lm PRETRAIN_MINUTES=30 MINUTES=20 sh examples/prefix-lm/run.sh
#   SMOKE=1 sh examples/prefix-lm/run.sh
set -eu
REPO=$(cd "$(dirname "$0")/../.." && pwd)
cd "$REPO"
DATA=${DATA:-$REPO/../shared/data}
OUT=${OUT:-$REPO/runs/prefix-lm}
PRETRAIN_MINUTES=${PRETRAIN_MINUTES:-30}
MINUTES=${MINUTES:-20}
SMOKE=${SMOKE:-0}
DS=$DATA/dialogsum
mkdir -p "$OUT/data"

# Pretraining text: one sentence, verse or dialogue a line.
cat "$DATA/multi30k/train.de" "$DATA/multi30k/train.en" "$DATA/text/fortunes.de.txt" \
  "$DATA/text/fortunes.en.txt" "$DATA/text/kjv.verses.txt" > "$OUT/data/mono.txt"
sh "$REPO/examples/dialogsum/extract.sh" dialogue < "$DS/dialogsum.train.jsonl" >> "$OUT/data/mono.txt"
cp "$DS/dialogsum.train.jsonl" "$DS/dialogsum.dev.jsonl" "$DS/dialogsum.test.jsonl" "$OUT/data/"
if [ "$SMOKE" = 1 ]; then
  awk 'NR % 200 == 0' "$OUT/data/mono.txt" > "$OUT/data/mono.tmp" && mv "$OUT/data/mono.tmp" "$OUT/data/mono.txt"
  for s in train dev test; do
    n=300; [ "$s" = train ] || n=10
    head -n "$n" "$DS/dialogsum.$s.jsonl" > "$OUT/data/dialogsum.$s.jsonl"
  done
  PRE="--config tiny --vocab-size 800 --max-steps 10 --max-tokens 2048 --warmup 10"
  FT="--max-steps 10 --max-tokens 2048 --warmup 10 --rouge-sample 5"
  SAMPLE=10
else
  PRE="--config small --vocab-size 8000 --max-minutes $PRETRAIN_MINUTES --max-tokens 8192 --schedule linear --warmup 300"
  FT="--max-minutes $MINUTES --max-tokens 8192 --schedule linear --warmup 100 --rouge-sample 100"
  SAMPLE=500
fi

# shellcheck disable=SC2086 # PRE and FT are lists of flags
npx maskwise pretrain --objective clm --train "$OUT/data/mono.txt" --out "$OUT/clm" \
  --max-len 512 --lr 1e-3 $PRE

rouge_of() { # rouge_of MASK -> "r1 r2 rL" on the test set's summary1
  # shellcheck disable=SC2086
  npx maskwise train --task dialogue --arch decoder-only --mask "$1" \
    --train "$OUT/data/dialogsum.train.jsonl" --valid "$OUT/data/dialogsum.dev.jsonl" \
    --init-from "$OUT/clm/checkpoints/best" --out "$OUT/$1" --max-len 768 --lr 1e-3 \
    --no-repeat-ngram-size 3 $FT >&2
  npx maskwise train --task dialogue --arch decoder-only --mask "$1" --target-field summary1 \
    --train "$OUT/data/dialogsum.test.jsonl" --valid "$OUT/data/dialogsum.test.jsonl" \
    --init-from "$OUT/$1/checkpoints/best" --out "$OUT/$1-test" --max-len 768 \
    --lr 0 --max-steps 1 --dropout 0 --rouge-sample "$SAMPLE" --no-repeat-ngram-size 3 >&2
  grep valid_rouge1 "$OUT/$1-test/metrics.jsonl" | tail -n 1 |
    sed -n 's/.*"valid_rouge1":\([-0-9.e+]*\).*"valid_rouge2":\([-0-9.e+]*\).*"valid_rougeL":\([-0-9.e+]*\).*/\1 \2 \3/p'
}
PREFIX=$(rouge_of prefix)
CAUSAL=$(rouge_of causal)
set -- $PREFIX $CAUSAL

RESULT=$(printf '{"recipe":"prefix-lm","smoke":%s,"pretrain_minutes":%s,"finetune_minutes":%s,"test_examples":%s,"prefix_rouge1":%s,"prefix_rouge2":%s,"prefix_rougeL":%s,"causal_rouge1":%s,"causal_rouge2":%s,"causal_rougeL":%s}' \
  "$SMOKE" "$([ "$SMOKE" = 1 ] && echo null || echo "$PRETRAIN_MINUTES")" "$([ "$SMOKE" = 1 ] && echo null || echo "$MINUTES")" \
  "$SAMPLE" "${1:-null}" "${2:-null}" "${3:-null}" "${4:-null}" "${5:-null}" "${6:-null}")
echo "$RESULT" > "$OUT/RESULTS.json"
echo "$RESULT"
