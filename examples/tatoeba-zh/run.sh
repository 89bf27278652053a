#!/bin/sh
# Tatoeba English <-> Chinese: two small Transformers (en->zh and zh->en) trained from scratch on
# cmn.txt (English TAB Chinese TAB attribution, with a byte-order mark), each for MINUTES minutes;
# every 20th pair is held out for test and the next one for dev (deterministic, by line number).
# BLEU: --tokenize zh for ->zh (Chinese characters one by one), 13a for ->en; beam 5.
#
#   DATA=../shared/data/tatoeba-cmn OUT=runs/tatoeba-zh MINUTES=20 sh examples/tatoeba-zh/run.sh
#   PRECISION=float32 sh examples/tatoeba-zh/run.sh   # float32 products
#   SMOKE=1 sh examples/tatoeba-zh/run.sh
set -eu
REPO=$(cd "$(dirname "$0")/../.." && pwd)
cd "$REPO"
DATA=${DATA:-$REPO/../shared/data/tatoeba-cmn}
OUT=${OUT:-$REPO/runs/tatoeba-zh}
MINUTES=${MINUTES:-20}
SMOKE=${SMOKE:-0}
# The training steps' matrix products: PRECISION=auto (default) times bfloat16 against float32
# on this CPU and takes the faster (bfloat16 products, float32 sums, weights and optimizer on a
# CPU with AVX512_BF16: about 1.6x the updates in the same minutes; float32 elsewhere);
# PRECISION=float32 or bfloat16 fixes it. BF16=0 (float32) and BF16=1 (bfloat16) still work.
PRECISION=${PRECISION:-auto}
case "${BF16:-}" in 0) PRECISION=float32 ;; 1) PRECISION=bfloat16 ;; esac
mkdir -p "$OUT/data"

# Splits: the byte-order mark removed, the attribution column dropped, line n (1-based) goes to
# test when n % 20 == 0, to dev when n % 20 == 1, else to train. The file is sorted by length, so
# every split spans short and long sentences.
BOM=$(printf '\357\273\277')
sed "1s/^$BOM//" "$DATA/cmn.txt" | awk -F '\t' -v out="$OUT/data" '
  { split_ = (NR % 20 == 0) ? "test" : (NR % 20 == 1) ? "dev" : "train"
    print $1 > (out "/" split_ ".en"); print $2 > (out "/" split_ ".zh") }'
if [ "$SMOKE" = 1 ]; then
  for s in train dev test; do
    for l in en zh; do
      n=400; [ "$s" = train ] || n=20
      head -n "$n" "$OUT/data/$s.$l" > "$OUT/data/$s.$l.tmp" && mv "$OUT/data/$s.$l.tmp" "$OUT/data/$s.$l"
    done
  done
  SIZE="--config tiny --vocab-size 600 --max-steps 20 --max-tokens 1024 --lr 1e-3 --warmup 10 --bleu-sample 10"
else
  # The rate warms up over 200 updates to its peak and falls linearly to 0 as the minutes run out
  # (a 10-minute run makes about 700 updates; the Multi30k recipe gained 1 BLEU from this over
  # inverse-sqrt).
  SIZE="--config small --vocab-size 8000 --max-minutes $MINUTES --max-tokens 4096 --schedule linear --lr 1.5e-3 --warmup 200"
fi
SIZE="$SIZE --precision $PRECISION"

direction() { # direction SRC TGT TOKENIZE -> BLEU of SRC->TGT on test
  # shellcheck disable=SC2086 # SIZE is a list of flags
  npx maskwise train --task translation \
    --train-src "$OUT/data/train.$1" --train-tgt "$OUT/data/train.$2" \
    --valid-src "$OUT/data/dev.$1" --valid-tgt "$OUT/data/dev.$2" \
    --out "$OUT/$1-$2" --label-smoothing 0.1 $SIZE >&2
  npx maskwise translate --model "$OUT/$1-$2/checkpoints/best" --beam 5 \
    < "$OUT/data/test.$1" > "$OUT/test.$1-$2.$2"
  npx maskwise eval bleu --json --tokenize "$3" --ref "$OUT/data/test.$2" --hyp "$OUT/test.$1-$2.$2" |
    sed -n 's/.*"score":\([-0-9.e+]*\).*/\1/p'
}
EN_ZH=$(direction en zh zh)
ZH_EN=$(direction zh en 13a)

RESULT=$(printf '{"recipe":"tatoeba-zh","smoke":%s,"minutes_each":%s,"test_pairs":%s,"bleu_en_zh_tok_zh":%s,"bleu_zh_en_13a":%s}' \
  "$SMOKE" "$([ "$SMOKE" = 1 ] && echo null || echo "$MINUTES")" "$(wc -l < "$OUT/data/test.en" | tr -d ' ')" "$EN_ZH" "$ZH_EN")
echo "$RESULT" > "$OUT/RESULTS.json"
echo "$RESULT"
