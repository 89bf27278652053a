#!/bin/sh
# DialogSum dialogue summarization with an encoder-decoder (the small 3+3 Transformer, BPE trained
# on the dialogues and summaries), trained for MINUTES minutes on the train split with dev for
# validation; the best checkpoint summarizes the 500 test dialogues (beam 5, no repeated
# trigram), scored with
# ROUGE-1/2/L F1 (rouge-score, Porter stemming) against the three references of each dialogue,
# and against summary1 alone (the figure the prefix-lm recipe reports too).
#
#   DATA=../shared/data/dialogsum OUT=runs/dialogsum MINUTES=40 sh examples/dialogsum/run.sh
#   SMOKE=1 sh examples/dialogsum/run.sh
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
cd "$REPO"
DATA=${DATA:-$REPO/../shared/data/dialogsum}
OUT=${OUT:-$REPO/runs/dialogsum}
MINUTES=${MINUTES:-40}
SMOKE=${SMOKE:-0}
mkdir -p "$OUT/data"

cp "$DATA/dialogsum.train.jsonl" "$DATA/dialogsum.dev.jsonl" "$DATA/dialogsum.test.jsonl" "$OUT/data/"
if [ "$SMOKE" = 1 ]; then
  for s in train dev test; do
    n=300; [ "$s" = train ] || n=10
    head -n "$n" "$DATA/dialogsum.$s.jsonl" > "$OUT/data/dialogsum.$s.jsonl"
  done
  SIZE="--config tiny --vocab-size 800 --max-steps 15 --max-tokens 2048 --warmup 10 --rouge-sample 5"
  BEAM=1
else
  SIZE="--config small --vocab-size 8000 --max-minutes $MINUTES --max-tokens 8192 --schedule linear --warmup 200 --rouge-sample 100"
  BEAM=5
fi
# The test side as plain lines: dialogues (one a line) and the three references.
for f in dialogue summary1 summary2 summary3; do
  sh "$HERE/extract.sh" "$f" < "$OUT/data/dialogsum.test.jsonl" > "$OUT/data/test.$f"
done

# shellcheck disable=SC2086 # SIZE is a list of flags
npx maskwise train --task dialogue \
  --train "$OUT/data/dialogsum.train.jsonl" --valid "$OUT/data/dialogsum.dev.jsonl" \
  --out "$OUT/run" --max-len 512 --lr 1e-3 --label-smoothing 0.1 $SIZE

# No trigram twice in a summary (--no-repeat-ngram-size 3, as BART's summarization settings).
npx maskwise translate --model "$OUT/run/checkpoints/best" --beam "$BEAM" \
  --max-len-a 0 --max-len-b 100 --no-repeat-ngram-size 3 < "$OUT/data/test.dialogue" > "$OUT/test.summary"
rouge() { # rouge JSON TYPE -> F1 x 100
  sed -n "s/.*\"$2\":{[^}]*\"fmeasure\":\\([-0-9.e+]*\\).*/\\1/p" "$1" | awk '{ print $1 * 100 }'
}
npx maskwise eval rouge --stem --json --hyp "$OUT/test.summary" \
  --ref "$OUT/data/test.summary1" --ref "$OUT/data/test.summary2" --ref "$OUT/data/test.summary3" \
  > "$OUT/rouge.3refs.json"
npx maskwise eval rouge --stem --json --hyp "$OUT/test.summary" --ref "$OUT/data/test.summary1" \
  > "$OUT/rouge.summary1.json"

RESULT=$(printf '{"recipe":"dialogsum","smoke":%s,"minutes":%s,"beam":%s,"rouge1":%s,"rouge2":%s,"rougeL":%s,"summary1_rouge1":%s,"summary1_rouge2":%s,"summary1_rougeL":%s}' \
  "$SMOKE" "$([ "$SMOKE" = 1 ] && echo null || echo "$MINUTES")" "$BEAM" \
  "$(rouge "$OUT/rouge.3refs.json" rouge1)" "$(rouge "$OUT/rouge.3refs.json" rouge2)" "$(rouge "$OUT/rouge.3refs.json" rougeL)" \
  "$(rouge "$OUT/rouge.summary1.json" rouge1)" "$(rouge "$OUT/rouge.summary1.json" rouge2)" "$(rouge "$OUT/rouge.summary1.json" rougeL)")
echo "$RESULT" > "$OUT/RESULTS.json"
echo "$RESULT"
