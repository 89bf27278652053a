#!/bin/sh
# Pretrain, then fine-tune: text infilling (BART: Poisson(3) spans -> one <mask> each) on
# monolingual text (Multi30k's German and English sides, used as plain text without their
# alignment, plus ../shared/data/text), then fine-tuning on the first 3,000 Multi30k pairs; against
# the same model (same config, same tokenizer) trained from scratch on those 3,000 pairs for the
# same time. BLEU (13a) on test_2016_flickr, beam 5, best checkpoint of each.
#
#   DATA=../shared/data OUT=runs/pretrain-finetune PRETRAIN_MINUTES=30 MINUTES=10 \
#     sh examples/pretrain-finetune/run.sh
#   OBJECTIVE=mass sh examples/pretrain-finetune/run.sh      # MASS instead of infilling
#   SMOKE=1 sh examples/pretrain-finetune/run.sh
set -eu
REPO=$(cd "$(dirname "$0")/../.." && pwd)
cd "$REPO"
DATA=${DATA:-$REPO/../shared/data}
OUT=${OUT:-$REPO/runs/pretrain-finetune}
PRETRAIN_MINUTES=${PRETRAIN_MINUTES:-30}
MINUTES=${MINUTES:-10}
PAIRS=${PAIRS:-3000}
OBJECTIVE=${OBJECTIVE:-infill}
SMOKE=${SMOKE:-0}
M30K=$DATA/multi30k
mkdir -p "$OUT/data"

# Monolingual text: both Multi30k sides as separate lines, then the fortunes and verses.
cat "$M30K/train.de" "$M30K/train.en" "$DATA/text/fortunes.de.txt" "$DATA/text/fortunes.en.txt" \
  "$DATA/text/kjv.verses.txt" > "$OUT/data/mono.txt"
head -n "$PAIRS" "$M30K/train.de" > "$OUT/data/pairs.de"
head -n "$PAIRS" "$M30K/train.en" > "$OUT/data/pairs.en"
cp "$M30K/val.de" "$M30K/val.en" "$M30K/test_2016_flickr.de" "$M30K/test_2016_flickr.en" "$OUT/data/"
if [ "$SMOKE" = 1 ]; then
  awk 'NR % 200 == 0' "$OUT/data/mono.txt" > "$OUT/data/mono.tmp" && mv "$OUT/data/mono.tmp" "$OUT/data/mono.txt"
  for f in pairs.de pairs.en; do head -n 300 "$OUT/data/$f" > "$OUT/data/$f.tmp" && mv "$OUT/data/$f.tmp" "$OUT/data/$f"; done
  for f in val.de val.en test_2016_flickr.de test_2016_flickr.en; do
    head -n 20 "$OUT/data/$f" > "$OUT/data/$f.tmp" && mv "$OUT/data/$f.tmp" "$OUT/data/$f"
  done
  PRE="--config tiny --vocab-size 600 --max-steps 15 --max-tokens 1024 --warmup 10"
  FT="--max-steps 15 --max-tokens 1024 --warmup 10 --bleu-sample 10"
else
  # Short runs: warm up over a few hundred updates (the inverse-sqrt decay does the rest); 3,000
  # pairs make about 20 batches of 2,048 tokens, so fine-tuning takes smaller batches, more updates.
  PRE="--config small --vocab-size 8000 --max-minutes $PRETRAIN_MINUTES --max-tokens 4096 --warmup 300"
  FT="--max-minutes $MINUTES --max-tokens 2048 --warmup 100 --bleu-sample 100"
fi

# shellcheck disable=SC2086 # PRE and FT are lists of flags
npx maskwise pretrain --objective "$OBJECTIVE" --train "$OUT/data/mono.txt" --out "$OUT/pretrain" \
  --lr 1e-3 $PRE
PRETRAINED=$OUT/pretrain/checkpoints/best

translation() { # translation NAME FLAGS… : fine-tune or train on the pairs; prints test BLEU
  name=$1
  shift
  npx maskwise train --task translation \
    --train-src "$OUT/data/pairs.de" --train-tgt "$OUT/data/pairs.en" \
    --valid-src "$OUT/data/val.de" --valid-tgt "$OUT/data/val.en" \
    --out "$OUT/$name" --lr 1e-3 --label-smoothing 0.1 "$@" >&2
  npx maskwise translate --model "$OUT/$name/checkpoints/best" --beam 5 \
    < "$OUT/data/test_2016_flickr.de" > "$OUT/test_2016_flickr.$name.en"
  npx maskwise eval bleu --json --ref "$OUT/data/test_2016_flickr.en" --hyp "$OUT/test_2016_flickr.$name.en" |
    sed -n 's/.*"score":\([-0-9.e+]*\).*/\1/p'
}
# shellcheck disable=SC2086
FINETUNED=$(translation finetuned --init-from "$PRETRAINED" $FT)
# shellcheck disable=SC2086
SCRATCH=$(translation scratch --model "$PRETRAINED/config.json" --tokenizer "$PRETRAINED/tokenizer.json" $FT)
PRE_LOSS=$(grep valid_loss "$OUT/pretrain/metrics.jsonl" | tail -n 1 | sed -n 's/.*"valid_loss":\([-0-9.e+]*\).*/\1/p')

RESULT=$(printf '{"recipe":"pretrain-finetune","smoke":%s,"objective":"%s","pairs":%s,"pretrain_minutes":%s,"finetune_minutes":%s,"pretrain_valid_loss":%s,"bleu_test2016_pretrained":%s,"bleu_test2016_scratch":%s}' \
  "$SMOKE" "$OBJECTIVE" "$(wc -l < "$OUT/data/pairs.en" | tr -d ' ')" \
  "$([ "$SMOKE" = 1 ] && echo null || echo "$PRETRAIN_MINUTES")" "$([ "$SMOKE" = 1 ] && echo null || echo "$MINUTES")" \
  "${PRE_LOSS:-null}" "$FINETUNED" "$SCRATCH")
echo "$RESULT" > "$OUT/RESULTS.json"
echo "$RESULT"
