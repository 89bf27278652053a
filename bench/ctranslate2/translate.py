"""Translates token ids with CTranslate2 and reports the time translation took, for
bench/translate-compare.ts.

Input (--input, JSON lines): one array of source token ids a line, the source's eos included
(maskwise's convention: the tokenizer's ids followed by eos). Ids map to the model's tokens
through the vocabulary convert.py wrote (row i = id i). Output (--output, JSON lines): the best
hypothesis of each line as token ids, eos left out. The last line of stdout is
{"translate_s": …, "load_s": …, …}: translate_s is the wall time of translate_batch on every
line at once (CTranslate2 sorts by length and cuts batches of --batch-size examples itself),
timed in this process with the model already loaded; load_s, the Translator's construction, is
reported but is not part of translate_s.

  /work/ct2/venv/bin/python bench/ctranslate2/translate.py --model CT2_DIR --input ids.jsonl \
      --output hyp.jsonl [--threads N] [--batch-size B] [--beam K] [--compute-type int8|float32] \
      [--max-decoding-length L] [--length-penalty X]
"""

import argparse
import json
import sys
import time

from ct2_common import import_ctranslate2, read_vocabulary

ctranslate2 = import_ctranslate2("translate.py")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--threads", type=int, default=1, help="intra_threads (one translator)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--beam", type=int, default=5)
    ap.add_argument("--compute-type", default="float32")
    ap.add_argument("--max-decoding-length", type=int, default=256)
    ap.add_argument("--length-penalty", type=float, default=1.0)
    a = ap.parse_args()

    vocab = read_vocabulary(a.model, "translate.py")
    index = {t: i for i, t in enumerate(vocab)}
    with open(a.input, encoding="utf-8") as f:
        sources = [[vocab[i] for i in json.loads(line)] for line in f if line.strip()]

    t0 = time.perf_counter()
    translator = ctranslate2.Translator(
        a.model,
        device="cpu",
        compute_type=a.compute_type,
        inter_threads=1,
        intra_threads=a.threads,
    )
    load_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    results = translator.translate_batch(
        sources,
        max_batch_size=a.batch_size,
        batch_type="examples",
        beam_size=a.beam,
        length_penalty=a.length_penalty,
        max_decoding_length=a.max_decoding_length,
        return_scores=False,
    )
    translate_s = time.perf_counter() - t0

    with open(a.output, "w", encoding="utf-8") as f:
        for r in results:
            f.write(json.dumps([index[t] for t in r.hypotheses[0]]) + "\n")
    print(
        json.dumps(
            {
                "translate_s": translate_s,
                "load_s": load_s,
                "sentences": len(sources),
                "threads": a.threads,
                "batch_size": a.batch_size,
                "beam": a.beam,
                "compute_type": translator.compute_type,
                "ctranslate2": ctranslate2.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
