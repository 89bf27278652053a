// `maskwise tokenizer train`: learns a BPE (or WordPiece) tokenizer from text files and writes tokenizer.json.
import { atomicWrite } from "../../node/files.js";
import { fileLines } from "../../node/lines.js";
import {
  DEFAULT_SPECIAL_TOKENS,
  sentinelTokens,
  tokenizerToString,
  trainFromCounts,
  WORDPIECE_SPECIAL_TOKENS,
  WordCounter,
} from "../../tokenizer/index.js";
import { MaskwiseError } from "../../util/errors.js";
import type { Command } from "../command.js";
import { numberFlag, parseFlags } from "../command.js";

const NAME = "tokenizer train";

export const command: Command = {
  path: ["tokenizer", "train"],
  summary: "train a BPE or WordPiece tokenizer on text files; write tokenizer.json",
  help: `Usage: maskwise tokenizer train --input FILE... --vocab-size N --out tokenizer.json [options]

Learns BPE merges (or a WordPiece vocabulary) from the lines of the input files and writes a Hugging Face tokenizer.json
that maskwise and the Rust 'tokenizers' library encode identically.

Options:
  --input FILE          a text file, one sentence or document a line (repeat for more files)
  --vocab-size N        vocabulary size, special tokens included
  --out FILE            where to write tokenizer.json
  --model KIND          bpe (default) or wordpiece (BERT-style, for encoder-only models: '##'
                        continuation pieces, whitespace and punctuation splits, specials
                        [PAD] [UNK] [CLS] [SEP] [MASK], pairs as [CLS] A [SEP] B [SEP])
  --lowercase           wordpiece: lowercase and strip accents (uncased BERT)
  --special TOKEN       an extra special token after the defaults (repeat; e.g. de_DE, <sep>)
  --sentinels N         add T5 span sentinels <extra_id_0> ... <extra_id_{N-1}>
  --no-default-specials start from no special tokens instead of <s> <pad> </s> <unk> <mask>
  --pre-tokenizer KIND  bpe: metaspace (default: SentencePiece-style '▁' word marker) or byte-level
                        (GPT-2/RoBERTa bytes, never <unk>)
  --normalizer NAME     bpe: nfkc (default) or none
  --min-frequency N     pairs seen fewer times are not merged (default 2)
  --character-coverage F  metaspace: keep the most frequent characters covering this share of
                        the text (e.g. 0.9995, as SentencePiece); rarer ones become <unk>.
                        Default 1: every character seen
  --byte-fallback       metaspace: add <0x00>...<0xFF> so unseen characters become their UTF-8
                        bytes instead of <unk> (SentencePiece's byte_fallback)

Special tokens take ids 0, 1, ... in order: <s>=0 <pad>=1 </s>=2 <unk>=3 <mask>=4 by default
(wordpiece: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4).`,
  async run(argv) {
    const { values } = parseFlags(NAME, argv, {
      input: { type: "string", multiple: true },
      "vocab-size": { type: "string" },
      out: { type: "string" },
      special: { type: "string", multiple: true },
      sentinels: { type: "string" },
      "no-default-specials": { type: "boolean" },
      "pre-tokenizer": { type: "string" },
      normalizer: { type: "string" },
      "min-frequency": { type: "string" },
      "character-coverage": { type: "string" },
      "byte-fallback": { type: "boolean" },
      model: { type: "string" },
      lowercase: { type: "boolean" },
    });
    const missing = (flag: string) =>
      new MaskwiseError(`--${flag} is required`, {
        code: "E_ARG",
        where: `maskwise ${NAME}`,
        hint: `see 'maskwise ${NAME} --help'`,
      });
    if (!values.input || values.input.length === 0) throw missing("input");
    if (values["vocab-size"] === undefined) throw missing("vocab-size");
    if (values.out === undefined) throw missing("out");
    const vocabSize = numberFlag(NAME, "vocab-size", values["vocab-size"], 0, {
      min: 1,
      integer: true,
    });
    const sentinels = numberFlag(NAME, "sentinels", values.sentinels, 0, { min: 0, integer: true });
    const minFrequency = numberFlag(NAME, "min-frequency", values["min-frequency"], 2, {
      min: 1,
      integer: true,
    });
    const characterCoverage = numberFlag(
      NAME,
      "character-coverage",
      values["character-coverage"],
      1,
      { min: 0 },
    );
    const kind = values["pre-tokenizer"] ?? "metaspace";
    if (kind !== "metaspace" && kind !== "byte-level") {
      throw new MaskwiseError(`unknown pre-tokenizer '${kind}'`, {
        code: "E_ARG",
        where: `maskwise ${NAME} --pre-tokenizer`,
        hint: "use metaspace or byte-level",
      });
    }
    const norm = values.normalizer ?? "nfkc";
    if (norm !== "nfkc" && norm !== "none") {
      throw new MaskwiseError(`unknown normalizer '${norm}'`, {
        code: "E_ARG",
        where: `maskwise ${NAME} --normalizer`,
        hint: "use nfkc or none",
      });
    }
    const model = values.model ?? "bpe";
    if (model !== "bpe" && model !== "wordpiece") {
      throw new MaskwiseError(`unknown model '${model}'`, {
        code: "E_ARG",
        where: `maskwise ${NAME} --model`,
        hint: "use bpe or wordpiece",
      });
    }
    const wp = model === "wordpiece";
    if (!wp && values.lowercase) {
      throw new MaskwiseError("--lowercase applies to --model wordpiece only", {
        code: "E_ARG",
        where: `maskwise ${NAME} --lowercase`,
        hint: "add --model wordpiece, or drop --lowercase",
      });
    }
    const specialTokens = [
      ...(values["no-default-specials"]
        ? []
        : wp
          ? WORDPIECE_SPECIAL_TOKENS
          : DEFAULT_SPECIAL_TOKENS),
      ...sentinelTokens(sentinels),
      ...(values.special ?? []),
    ];
    const options = {
      vocabSize,
      preTokenizer: kind,
      specialTokens,
      normalizer: norm === "nfkc" ? (["NFKC"] as const) : [],
      minFrequency,
      characterCoverage,
      byteFallback: values["byte-fallback"] === true,
      model,
      lowercase: values.lowercase === true,
    } as const;
    // Only word counts are kept, so input files larger than memory work.
    const counter = new WordCounter(options);
    const started = performance.now();
    for (const file of values.input)
      for await (const line of fileLines(file)) counter.add(line.text);
    const tok = trainFromCounts(counter.counts, options);
    atomicWrite(values.out, tokenizerToString(tok));
    if (process.stderr.isTTY) {
      const s = ((performance.now() - started) / 1000).toFixed(1);
      console.error(`${tok.vocabSize} tokens from ${counter.lines} lines in ${s} s: ${values.out}`);
    }
    return 0;
  },
};
