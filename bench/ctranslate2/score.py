"""Scores given target token ids with CTranslate2 (teacher forcing), for bench/int8-fidelity.ts.

Input: --source (JSON lines: one array of source token ids a line, the source's eos included, as
translate.py takes them) and --target (JSON lines: the target's token ids, eos left out: CTranslate2
adds the decoder's start token before them and scores eos after them). Ids map to the model's
tokens through the vocabulary convert.py wrote (row i = id i). Output (--output, JSON lines): per
line, the log-probability of each target token and of the final eos, as Translator.score_batch
returns them.

  /work/ct2/venv/bin/python bench/ctranslate2/score.py --model CT2_DIR --source src.jsonl \
      --target tgt.jsonl --output logprobs.jsonl [--threads N] [--compute-type int8|float32]
"""

import argparse
import json
import sys

from ct2_common import import_ctranslate2, read_vocabulary

ctranslate2 = import_ctranslate2("score.py")


def read_ids(path, vocab):
    with open(path, encoding="utf-8") as f:
        return [[vocab[i] for i in json.loads(line)] for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--compute-type", default="float32")
    a = ap.parse_args()

    vocab = read_vocabulary(a.model, "score.py")
    sources = read_ids(a.source, vocab)
    targets = read_ids(a.target, vocab)
    if len(sources) != len(targets):
        sys.exit(f"score.py: {len(sources)} source lines, {len(targets)} target lines ({a.target})")
    translator = ctranslate2.Translator(
        a.model, device="cpu", compute_type=a.compute_type, intra_threads=a.threads
    )
    results = translator.score_batch(sources, targets, max_batch_size=32)
    with open(a.output, "w", encoding="utf-8") as f:
        for r in results:
            f.write(json.dumps(r.log_probs) + "\n")


if __name__ == "__main__":
    main()
