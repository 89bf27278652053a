// `maskwise eval bleu|chrf|rouge`: score a hypothesis file against reference files, one segment
// a line (see ../shared/CLI.md). The text output is sacreBLEU's own line, signature first, so a
// figure can be pasted next to one from sacreBLEU; --json gives the numbers unrounded.
//
// Files are read as sacreBLEU's command line reads them: UTF-8 (a byte-order mark is kept as a
// character, as Python keeps it), lines split at "\n" only, trailing whitespace stripped. Input
// that cannot be scored (a missing or empty file, bytes that are not UTF-8, files of different
// lengths) stops with one line naming the file and line. An empty line is a segment like any
// other: an empty hypothesis, or an empty reference, scored as sacreBLEU 2.6.0 scores them.
import { readFileSync } from "node:fs";
import { Bleu, type BleuScore, formatBleu } from "../../eval/bleu.js";
import { Chrf, formatChrf } from "../../eval/chrf.js";
import { pyFixed, pyRstrip } from "../../eval/pystr.js";
import { corpusRouge, ROUGE_TYPES } from "../../eval/rouge.js";
import type { SmoothMethod } from "../../eval/signature.js";
import { TOKENIZER_NAMES } from "../../eval/tokenizers.js";
import { MaskwiseError } from "../../util/errors.js";
import { type Command, numberFlag, type Options, parseFlags } from "../command.js";

/** Byte offset of the first byte that does not start a valid UTF-8 sequence, or -1. */
export function invalidUtf8At(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    // Lead byte: how many continuation bytes follow, and the smallest code point allowed (no
    // overlong forms).
    let n: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) [n, min] = [1, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [n, min] = [2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [n, min] = [3, 0x10000];
    else return i;
    if (i + n >= b.length) return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const x = b[i + k];
      if ((x & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (x & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

/** The lines of a UTF-8 text file ("-" reads standard input), split at "\n". */
export function readLines(path: string, command: string): string[] {
  const name = path === "-" ? "<stdin>" : path;
  let bytes: Buffer;
  try {
    bytes = readFileSync(path === "-" ? 0 : path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new MaskwiseError(
      code === "ENOENT" ? "no such file" : `cannot read the file (${code ?? e})`,
      { code: "E_FILE", where: name, hint: `check the path given to 'maskwise ${command}'` },
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const at = Math.max(0, invalidUtf8At(bytes));
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < at; i++) {
      if (bytes[i] === 0x0a) {
        line++;
        lineStart = i + 1;
      }
    }
    throw new MaskwiseError(
      `invalid UTF-8 (byte 0x${bytes[at].toString(16).padStart(2, "0")} at column ${at - lineStart + 1})`,
      { code: "E_UTF8", where: `${name}:${line}`, hint: "convert the file to UTF-8 (e.g. iconv)" },
    );
  }
  if (text.length === 0) {
    throw new MaskwiseError("the file is empty", {
      code: "E_EMPTY",
      where: name,
      hint: "give a file with one segment a line",
    });
  }
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

function lineCount(n: number): string {
  return n === 1 ? "1 line" : `${n} lines`;
}

interface Corpus {
  hyps: string[];
  /** refs[k][i]: line i of reference file k. */
  refs: string[][];
  refFiles: string[];
}

/** Reads --hyp and the --ref files (extra positionals count as more references). */
function readCorpus(
  command: string,
  hyp: string | undefined,
  refFlags: string[] | undefined,
  positionals: string[],
): Corpus {
  const refFiles = [...(refFlags ?? []), ...positionals];
  if (hyp === undefined || refFiles.length === 0) {
    throw new MaskwiseError(`${hyp === undefined ? "--hyp" : "--ref"} is required`, {
      code: "E_ARG",
      where: `maskwise ${command}`,
      hint: `e.g. maskwise ${command} --ref ref.txt --hyp hyp.txt`,
    });
  }
  const hyps = readLines(hyp, command).map(pyRstrip);
  const refs = refFiles.map((f) => readLines(f, command).map(pyRstrip));
  const hypName = hyp === "-" ? "<stdin>" : hyp;
  refs.forEach((r, k) => {
    if (r.length !== hyps.length) {
      const [short, long] =
        r.length < hyps.length ? [refFiles[k], hypName] : [hypName, refFiles[k]];
      throw new MaskwiseError(
        `${refFiles[k]} has ${lineCount(r.length)} but ${hypName} has ${lineCount(hyps.length)}`,
        {
          code: "E_LENGTH",
          where: `${short}:${Math.min(r.length, hyps.length) + 1}`,
          hint: `${short} ends where ${long} goes on; give aligned files, one segment a line`,
        },
      );
    }
  });
  return { hyps, refs, refFiles };
}

const COMMON_OPTIONS = {
  ref: { type: "string", multiple: true },
  hyp: { type: "string" },
  lowercase: { type: "boolean" },
  json: { type: "boolean" },
  width: { type: "string" },
} satisfies Options;

const BLEU_HELP = `Usage: maskwise eval bleu --ref REF… --hyp HYP [--tokenize 13a|intl|zh|char|none]
       [--lowercase] [--smooth-method exp|floor|add-k|none] [--smooth-value V]
       [--effective-order] [--sentence-level] [--width 2] [--json]

Corpus BLEU exactly as sacreBLEU 2.6.0 computes it, on detokenized text, one segment a line.
Several references: repeat --ref or list the files after it (--ref a.txt b.txt). HYP may be -
for standard input.

  --tokenize        13a (default, mteval-v13a as WMT uses), intl (mteval-v14, Unicode
                    punctuation and symbols), zh (Chinese characters one by one), char, none
  --lowercase       case-insensitive BLEU (signature case:lc)
  --smooth-method   exp (default), floor (value 0.1), add-k (value 1), none
  --effective-order average only the n-gram orders the hypothesis has
  --sentence-level  one score per line (effective order on, as sacreBLEU -sl)
  --width           decimals of the score in the text line (default 2; sacreBLEU's CLI uses 1)

Text output is sacreBLEU's line, signature first:
  BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 38.37 66.9/44.1/31.6/23.3 (BP = …)
--json prints {"score":…,"precisions":[…],"bp":…,"ratio":…,"hyp_len":…,"ref_len":…,
"signature":"…","counts":[…],"totals":[…]} (one object a line with --sentence-level).`;

function bleuJson(s: BleuScore): string {
  return JSON.stringify({
    score: s.score,
    precisions: s.precisions,
    bp: s.bp,
    ratio: s.ratio,
    hyp_len: s.hypLen,
    ref_len: s.refLen,
    signature: s.signature,
    counts: s.counts,
    totals: s.totals,
  });
}

export const bleuCommand: Command = {
  path: ["eval", "bleu"],
  summary: "corpus BLEU exactly as sacreBLEU (13a, intl, zh, char, none)",
  help: BLEU_HELP,
  async run(argv) {
    const cmd = "eval bleu";
    const { values, positionals } = parseFlags(
      cmd,
      argv,
      {
        ...COMMON_OPTIONS,
        tokenize: { type: "string", default: "13a" },
        "smooth-method": { type: "string", default: "exp" },
        "smooth-value": { type: "string" },
        "effective-order": { type: "boolean" },
        "sentence-level": { type: "boolean" },
      },
      true,
    );
    if (!(TOKENIZER_NAMES as readonly string[]).includes(values.tokenize)) {
      throw new MaskwiseError(`unknown tokenizer '${values.tokenize}'`, {
        code: "E_ARG",
        where: `maskwise ${cmd} --tokenize`,
        hint: `use one of ${TOKENIZER_NAMES.join(", ")}`,
      });
    }
    const smooth = values["smooth-method"];
    if (!["exp", "floor", "add-k", "none"].includes(smooth)) {
      throw new MaskwiseError(`unknown smoothing method '${smooth}'`, {
        code: "E_ARG",
        where: `maskwise ${cmd} --smooth-method`,
        hint: "use one of exp, floor, add-k, none",
      });
    }
    const smoothValue = values["smooth-value"];
    const bleu = new Bleu({
      tokenize: values.tokenize,
      lowercase: values.lowercase ?? false,
      smoothMethod: smooth as SmoothMethod,
      smoothValue:
        smoothValue === undefined ? null : numberFlag(cmd, "smooth-value", smoothValue, 0),
      effectiveOrder: (values["effective-order"] || values["sentence-level"]) ?? false,
    });
    const width = numberFlag(cmd, "width", values.width, 2, { min: 0, integer: true });
    const { hyps, refs } = readCorpus(cmd, values.hyp, values.ref, positionals);
    if (values["sentence-level"]) {
      const out: string[] = [];
      for (let i = 0; i < hyps.length; i++) {
        const s = bleu.sentenceScore(
          hyps[i],
          refs.map((r) => r[i]),
        );
        out.push(values.json ? bleuJson(s) : formatBleu(s, true, width));
      }
      console.log(out.join("\n"));
      return 0;
    }
    const s = bleu.corpusScore(hyps, refs);
    console.log(values.json ? bleuJson(s) : formatBleu(s, true, width));
    return 0;
  },
};

const CHRF_HELP = `Usage: maskwise eval chrf --ref REF… --hyp HYP [--word-order 0|2] [--char-order 6]
       [--beta 2] [--lowercase] [--whitespace] [--eps-smoothing] [--width 2] [--json]

chrF (--word-order 0, the default) or chrF++ (--word-order 2) exactly as sacreBLEU 2.6.0:
character n-grams up to --char-order, word n-grams up to --word-order, F-beta with recall
weighted --beta times. Several references: each segment uses the one that scores best.

Text output is sacreBLEU's line, signature first:
  chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 64.64
--json prints {"score":…,"name":"chrF2","char_order":6,"word_order":0,"beta":2,
"signature":"…","stats":[hyp,ref,match per order…]}.`;

export const chrfCommand: Command = {
  path: ["eval", "chrf"],
  summary: "chrF and chrF++ exactly as sacreBLEU",
  help: CHRF_HELP,
  async run(argv) {
    const cmd = "eval chrf";
    const { values, positionals } = parseFlags(
      cmd,
      argv,
      {
        ...COMMON_OPTIONS,
        "char-order": { type: "string" },
        "word-order": { type: "string" },
        beta: { type: "string" },
        whitespace: { type: "boolean" },
        "eps-smoothing": { type: "boolean" },
      },
      true,
    );
    const opt = { min: 0, integer: true };
    const chrf = new Chrf({
      charOrder: numberFlag(cmd, "char-order", values["char-order"], 6, { ...opt, min: 1 }),
      wordOrder: numberFlag(cmd, "word-order", values["word-order"], 0, opt),
      beta: numberFlag(cmd, "beta", values.beta, 2, opt),
      lowercase: values.lowercase ?? false,
      whitespace: values.whitespace ?? false,
      epsSmoothing: values["eps-smoothing"] ?? false,
    });
    const width = numberFlag(cmd, "width", values.width, 2, { min: 0, integer: true });
    const { hyps, refs } = readCorpus(cmd, values.hyp, values.ref, positionals);
    const s = chrf.corpusScore(hyps, refs);
    console.log(
      values.json
        ? JSON.stringify({
            score: s.score,
            name: s.name,
            char_order: chrf.charOrder,
            word_order: chrf.wordOrder,
            beta: chrf.beta,
            signature: s.signature,
            stats: s.stats,
          })
        : formatChrf(s, true, width),
    );
    return 0;
  },
};

const ROUGE_HELP = `Usage: maskwise eval rouge --ref REF… --hyp HYP [--stem] [--json]

ROUGE-1, ROUGE-2 and ROUGE-L exactly as Google's rouge-score computes them, for each line of
HYP against the same line of REF, averaged over lines. --stem applies NLTK's Porter stemmer
(rouge-score's use_stemmer=True). Several references: each line takes, per ROUGE type, the
reference with the best F (rouge-score's score_multi). Empty lines score 0.

Text output: one line per type, the F-measure in percent first, signature first:
  rouge1|nrefs:1|stem:no|tok:rouge-score|version:0.1.2 = 50.21 (P = 52.10 R = 51.37)
--json prints {"rouge1":{"precision":…,"recall":…,"fmeasure":…},"rouge2":{…},"rougeL":{…},
"n":…,"signature":"…"} with fractions in [0, 1].`;

export const rougeCommand: Command = {
  path: ["eval", "rouge"],
  summary: "ROUGE-1/2/L exactly as rouge-score (optionally Porter-stemmed)",
  help: ROUGE_HELP,
  async run(argv) {
    const cmd = "eval rouge";
    const { values, positionals } = parseFlags(
      cmd,
      argv,
      {
        ref: COMMON_OPTIONS.ref,
        hyp: COMMON_OPTIONS.hyp,
        json: COMMON_OPTIONS.json,
        stem: { type: "boolean" },
      },
      true,
    );
    const { hyps, refs } = readCorpus(cmd, values.hyp, values.ref, positionals);
    const r = corpusRouge(hyps, refs, { useStemmer: values.stem ?? false });
    if (values.json) {
      console.log(JSON.stringify({ ...r.mean, n: hyps.length, signature: r.signature }));
      return 0;
    }
    const pct = (x: number) => pyFixed(100 * x, 2);
    const lines = ROUGE_TYPES.map((t) => {
      const m = r.mean[t];
      return `${t}|${r.signature} = ${pct(m.fmeasure)} (P = ${pct(m.precision)} R = ${pct(m.recall)})`;
    });
    console.log(lines.join("\n"));
    return 0;
  },
};
