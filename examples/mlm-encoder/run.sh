#!/bin/sh
# Masked-LM pretraining of an encoder (BERT: 15% of tokens chosen, 80% <mask>, 10% random, 10%
# kept) on monolingual text (Multi30k's German and English sides, plus ../shared/data/text), with
# the masked-token accuracy on held-out lines; then that encoder as the encoder of a German ->
# English translation model (--init-from: the encoder loads, the decoder starts fresh), trained on
# the first 3,000 Multi30k pairs. BLEU (13a) on test_2016_flickr, beam 5.
#
#   DATA=../shared/data OUT=runs/mlm-encoder PRETRAIN_MINUTES=30 MINUTES=10 sh examples/mlm-encoder/run.sh
#   SMOKE=1 sh examples/mlm-encoder/run.sh
set -eu
REPO=$(cd "$(dirname "$0")/../.." && pwd)
cd "$REPO"
DATA=${DATA:-$REPO/../shared/data}
OUT=${OUT:-$REPO/runs/mlm-encoder}
PRETRAIN_MINUTES=${PRETRAIN_MINUTES:-30}
MINUTES=${MINUTES:-10}
PAIRS=${PAIRS:-3000}
SMOKE=${SMOKE:-0}
M30K=$DATA/multi30k
mkdir -p "$OUT/data"

# Monolingual text; every 100th line is held out for the masked-token accuracy.
cat "$M30K/train.de" "$M30K/train.en" "$DATA/text/fortunes.de.txt" "$DATA/text/fortunes.en.txt" \
  "$DATA/text/kjv.verses.txt" | awk -v out="$OUT/data" \
  '{ print > (out "/" ((NR % 100 == 0) ? "mono.valid.txt" : "mono.train.txt")) }'
head -n "$PAIRS" "$M30K/train.de" > "$OUT/data/pairs.de"
head -n "$PAIRS" "$M30K/train.en" > "$OUT/data/pairs.en"
cp "$M30K/val.de" "$M30K/val.en" "$M30K/test_2016_flickr.de" "$M30K/test_2016_flickr.en" "$OUT/data/"
if [ "$SMOKE" = 1 ]; then
  for f in mono.train.txt pairs.de pairs.en; do
    awk 'NR % 100 == 0' "$OUT/data/$f" > "$OUT/data/$f.tmp" && mv "$OUT/data/$f.tmp" "$OUT/data/$f"
  done
  for f in mono.valid.txt val.de val.en test_2016_flickr.de test_2016_flickr.en; do
    head -n 20 "$OUT/data/$f" > "$OUT/data/$f.tmp" && mv "$OUT/data/$f.tmp" "$OUT/data/$f"
  done
  PRE="--config tiny --vocab-size 600 --max-steps 15 --max-tokens 1024 --warmup 10"
  FT="--max-steps 15 --max-tokens 1024 --warmup 10 --bleu-sample 10"
else
  # As examples/pretrain-finetune: a warmup a short pretraining run finishes, and for the 3,000
  # pairs smaller batches with a short warmup (they are overfitted within minutes).
  PRE="--config small --vocab-size 8000 --max-minutes $PRETRAIN_MINUTES --max-tokens 4096 --warmup 300"
  FT="--max-minutes $MINUTES --max-tokens 2048 --warmup 100 --bleu-sample 100"
fi

# shellcheck disable=SC2086 # PRE and FT are lists of flags
npx maskwise pretrain --objective mlm --train "$OUT/data/mono.train.txt" \
  --valid "$OUT/data/mono.valid.txt" --out "$OUT/mlm" --lr 1e-3 $PRE
ACC=$(grep valid_mlm_accuracy "$OUT/mlm/metrics.jsonl" | tail -n 1 |
  sed -n 's/.*"valid_mlm_accuracy":\([-0-9.e+]*\).*/\1/p')

# shellcheck disable=SC2086
npx maskwise train --task translation \
  --train-src "$OUT/data/pairs.de" --train-tgt "$OUT/data/pairs.en" \
  --valid-src "$OUT/data/val.de" --valid-tgt "$OUT/data/val.en" \
  --out "$OUT/translation" --init-from "$OUT/mlm/checkpoints/best" \
  --lr 1e-3 --label-smoothing 0.1 $FT
npx maskwise translate --model "$OUT/translation/checkpoints/best" --beam 5 \
  < "$OUT/data/test_2016_flickr.de" > "$OUT/test_2016_flickr.en"
BLEU=$(npx maskwise eval bleu --json --ref "$OUT/data/test_2016_flickr.en" --hyp "$OUT/test_2016_flickr.en" |
  sed -n 's/.*"score":\([-0-9.e+]*\).*/\1/p')

RESULT=$(printf '{"recipe":"mlm-encoder","smoke":%s,"pairs":%s,"valid_mlm_accuracy":%s,"bleu_test2016_mlm_encoder":%s}' \
  "$SMOKE" "$(wc -l < "$OUT/data/pairs.en" | tr -d ' ')" "${ACC:-null}" "$BLEU")
echo "$RESULT" > "$OUT/RESULTS.json"
echo "$RESULT"
