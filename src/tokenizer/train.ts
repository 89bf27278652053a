// Training a tokenizer from lines of text: count the pre-tokenized words, learn BPE merges, and
// assemble the Hugging Face pieces around them.
//
// The default is the SentencePiece-style BPE (`▁` word-boundary marker, Metaspace), not byte-level
// BPE, because maskwise's models are mBART/T5/Marian-style translation and summarisation models:
// a Chinese character stays one base symbol instead of three byte symbols (shorter sequences, and
// a vocabulary that can be read), and the tokens match what those model families ship. Byte-level
// BPE stays available for GPT-2/RoBERTa-style models, where never emitting <unk> matters more.
import { MaskwiseError } from "../util/errors.js";
import { AddedTokenMatcher } from "./added-tokens.js";
import { BpeModel, byteToken } from "./bpe-model.js";
import { learnBpe } from "./bpe-train.js";
import { byteLevelAlphabet } from "./byte-level.js";
import { METASPACE } from "./metaspace.js";
import type { NormalizerName } from "./normalizer.js";
import {
  type PreTokenizerKind,
  type TemplateItem,
  Tokenizer,
  type TokenizerParts,
} from "./tokenizer.js";
import { CONTINUATION, WordPieceModel } from "./wordpiece-model.js";

/** fairseq/BART order: <s>=0, <pad>=1, </s>=2, <unk>=3, then <mask>. */
export const DEFAULT_SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"] as const;

/** BERT's special tokens, in its order. */
export const WORDPIECE_SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] as const;

export interface TrainOptions {
  vocabSize: number;
  /**
   * "bpe" (default), or "wordpiece" for encoder-only models: BERT's normaliser and
   * pre-tokenizer, `##` continuation pieces, learned by BPE-style merges as the Hugging Face
   * WordPiece trainer does; preTokenizer, normalizer, characterCoverage and byteFallback do not
   * apply, and the special tokens default to WORDPIECE_SPECIAL_TOKENS.
   */
  model?: "bpe" | "wordpiece";
  /** WordPiece: lowercase and strip accents (uncased BERT). Default false. */
  lowercase?: boolean;
  /** Default "metaspace" (see the note at the top of this file). */
  preTokenizer?: PreTokenizerKind;
  /** Special tokens, ids 0, 1, … in this order. Default DEFAULT_SPECIAL_TOKENS. */
  specialTokens?: readonly string[];
  /** Default ["NFKC"]. */
  normalizer?: readonly NormalizerName[];
  /** Pairs seen fewer times are not merged. Default 2. */
  minFrequency?: number;
  /**
   * Metaspace only: keep the most frequent characters that cover this share of all character
   * occurrences (SentencePiece's character_coverage; it uses 0.9995). Rarer characters become
   * <unk>, leaving their vocabulary slots to merges. Default 1: every character seen.
   */
  characterCoverage?: number;
  /**
   * Metaspace only: add the 256 byte tokens <0x00>…<0xFF> after the special tokens, so a
   * character outside the alphabet is written as its UTF-8 bytes instead of <unk>
   * (SentencePiece's byte_fallback). Default false.
   */
  byteFallback?: boolean;
}

/** `<extra_id_0>` … `<extra_id_{n-1}>`: T5's span-corruption sentinels. */
export function sentinelTokens(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `<extra_id_${i}>`);
}

/**
 * Counts words as the tokenizer will see them (special tokens cut out, normalised,
 * pre-tokenized), one line at a time: only the counts are kept, so the corpus can stream.
 */
export class WordCounter {
  readonly counts = new Map<string, number>();
  lines = 0;
  private readonly matcher: AddedTokenMatcher;
  private readonly normalizer: readonly NormalizerName[];
  private readonly probe: Tokenizer;

  constructor(
    options: Pick<
      TrainOptions,
      "preTokenizer" | "specialTokens" | "normalizer" | "model" | "lowercase"
    >,
  ) {
    const specials = resolveSpecials(options);
    this.normalizer = options.normalizer ?? ["NFKC"];
    this.matcher = new AddedTokenMatcher(
      specials.map((content, id) => ({ id, content, special: true })),
    );
    // A tokenizer with no merges gives exactly the pre-tokenization that encode will use.
    const wp = options.model === "wordpiece";
    this.probe = new Tokenizer({
      normalizer: wp ? [] : this.normalizer,
      bert: wp ? bertOptions(options) : undefined,
      preTokenizer: wp ? "bert" : (options.preTokenizer ?? "metaspace"),
      model: new BpeModel(new Map(), [], null),
      addedTokens: [],
      template: null,
    });
  }

  add(line: string): void {
    this.lines++;
    for (const piece of this.matcher.split(line)) {
      if (!("text" in piece)) continue;
      for (const w of this.probe.preTokenize(this.probe.normalize(piece.text))) {
        this.counts.set(w, (this.counts.get(w) ?? 0) + 1);
      }
    }
  }
}

const bertOptions = (o: Pick<TrainOptions, "lowercase">) => ({
  lowercase: o.lowercase === true,
  stripAccents: o.lowercase === true,
});

function resolveSpecials(options: Pick<TrainOptions, "specialTokens" | "model">): string[] {
  const fallback =
    options.model === "wordpiece" ? WORDPIECE_SPECIAL_TOKENS : DEFAULT_SPECIAL_TOKENS;
  const specials = [...new Set(options.specialTokens ?? fallback)];
  if (specials.some((s) => s.length === 0))
    throw new MaskwiseError("a special token is empty", {
      code: "E_ARG",
      hint: "remove the empty --special value",
    });
  return specials;
}

function defaultTemplate(
  specials: readonly string[],
): { single: TemplateItem[]; pair: TemplateItem[] } | null {
  const eos = specials.includes("</s>");
  if (!eos) return null;
  // BART/RoBERTa: `<s> A </s> </s> B </s>`, one segment (their type vocabulary has one entry).
  // Without <s> (T5-style): `A </s> B </s>`.
  const bos = specials.includes("<s>");
  const open: TemplateItem[] = bos ? [{ special: "<s>" }] : [];
  return {
    single: [...open, { sequence: "A", typeId: 0 }, { special: "</s>" }],
    pair: [
      ...open,
      { sequence: "A", typeId: 0 },
      { special: "</s>" },
      ...(bos ? [{ special: "</s>" }] : []),
      { sequence: "B", typeId: 0 },
      { special: "</s>" },
    ],
  };
}

const byCodePoint = (x: string, y: string) =>
  (x.codePointAt(0) as number) - (y.codePointAt(0) as number);

/** The characters to start from, in code point order (a fixed rule, whatever the line order). */
function chooseAlphabet(wordCounts: ReadonlyMap<string, number>, coverage: number): string[] {
  if (!(coverage > 0 && coverage <= 1)) {
    throw new MaskwiseError(`character coverage must be in (0, 1], got ${coverage}`, {
      code: "E_ARG",
      where: "--character-coverage",
      hint: "use a share such as 0.9995, or 1 for every character",
    });
  }
  const freq = new Map<string, number>();
  let total = 0;
  for (const [w, f] of wordCounts) {
    for (const ch of w) {
      freq.set(ch, (freq.get(ch) ?? 0) + f);
      total += f;
    }
  }
  if (coverage === 1) return [...freq.keys()].sort(byCodePoint);
  const ranked = [...freq].sort((x, y) => y[1] - x[1] || byCodePoint(x[0], y[0]));
  const kept: string[] = [METASPACE];
  let covered = 0;
  for (const [ch, f] of ranked) {
    if (covered >= coverage * total) break;
    kept.push(ch);
    covered += f;
  }
  return [...new Set(kept)].sort(byCodePoint);
}

/** Trains on lines held in memory; see WordCounter and trainFromCounts for streaming. */
export function trainTokenizer(lines: Iterable<string>, options: TrainOptions): Tokenizer {
  const counter = new WordCounter(options);
  for (const line of lines) counter.add(line);
  return trainFromCounts(counter.counts, options);
}

/** Learns the vocabulary from word counts made by a WordCounter with the same options. */
export function trainFromCounts(
  wordCounts: ReadonlyMap<string, number>,
  options: TrainOptions,
): Tokenizer {
  if (options.model === "wordpiece") return trainWordPiece(wordCounts, options);
  const kind = options.preTokenizer ?? "metaspace";
  const specials = resolveSpecials(options);
  const normalizer = options.normalizer ?? ["NFKC"];
  let alphabet: string[];
  if (kind === "byte-level") {
    alphabet = byteLevelAlphabet();
  } else {
    alphabet = chooseAlphabet(wordCounts, options.characterCoverage ?? 1);
  }
  const byteFallback = kind === "metaspace" && options.byteFallback === true;
  const leading = byteFallback
    ? [...specials, ...Array.from({ length: 256 }, (_, b) => byteToken(b))]
    : specials;
  const base = new Set([...leading, ...alphabet]).size;
  if (options.vocabSize < base) {
    throw new MaskwiseError(
      `vocabulary size ${options.vocabSize} is smaller than the ${leading.length} special and byte tokens plus the ${base - leading.length} base symbols`,
      { code: "E_ARG", where: "--vocab-size", hint: `use at least ${base}` },
    );
  }
  const { vocab, merges } = learnBpe({
    wordCounts,
    leading,
    alphabet,
    vocabSize: options.vocabSize,
    minFrequency: options.minFrequency ?? 2,
  });
  const unk = kind === "metaspace" && specials.includes("<unk>") ? "<unk>" : null;
  return new Tokenizer({
    normalizer,
    preTokenizer: kind,
    addPrefixSpace: false,
    model: new BpeModel(vocab, merges, unk, byteFallback),
    addedTokens: specials.map((content) => ({
      id: vocab.get(content) as number,
      content,
      special: true,
    })),
    template: defaultTemplate(specials),
  });
}

/** BERT's template: `[CLS] A [SEP]`, pairs `[CLS] A [SEP] B [SEP]` with B and its [SEP] type 1. */
function bertTemplate(specials: readonly string[]): TokenizerParts["template"] {
  if (!specials.includes("[CLS]") || !specials.includes("[SEP]")) return null;
  return {
    single: [{ special: "[CLS]" }, { sequence: "A", typeId: 0 }, { special: "[SEP]" }],
    pair: [
      { special: "[CLS]" },
      { sequence: "A", typeId: 0 },
      { special: "[SEP]" },
      { sequence: "B", typeId: 1 },
      { special: "[SEP]", typeId: 1 },
    ],
  };
}

function trainWordPiece(wordCounts: ReadonlyMap<string, number>, options: TrainOptions): Tokenizer {
  const specials = resolveSpecials(options);
  const unk = specials.includes("[UNK]") ? "[UNK]" : specials.includes("<unk>") ? "<unk>" : null;
  if (unk === null) {
    throw new MaskwiseError("WordPiece needs an unknown token ([UNK] or <unk>)", {
      code: "E_ARG",
      where: "--special",
      hint: "add --special [UNK]",
    });
  }
  // Base symbols: each character as a word's first (`a`) and as a continuation (`##a`).
  const base = new Set<string>();
  for (const w of wordCounts.keys()) {
    let first = true;
    for (const ch of w) {
      base.add(first ? ch : CONTINUATION + ch);
      first = false;
    }
  }
  const alphabet = [...base].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const size = new Set([...specials, ...alphabet]).size;
  if (options.vocabSize < size) {
    throw new MaskwiseError(
      `vocabulary size ${options.vocabSize} is smaller than the ${specials.length} special tokens plus the ${size - specials.length} base symbols`,
      { code: "E_ARG", where: "--vocab-size", hint: `use at least ${size}` },
    );
  }
  const { vocab } = learnBpe({
    wordCounts,
    leading: specials,
    alphabet,
    vocabSize: options.vocabSize,
    minFrequency: options.minFrequency ?? 2,
    continuingPrefix: CONTINUATION,
  });
  return new Tokenizer({
    normalizer: [],
    bert: bertOptions(options),
    preTokenizer: "bert",
    model: new WordPieceModel(vocab, unk),
    addedTokens: specials.map((content) => ({
      id: vocab.get(content) as number,
      content,
      special: true,
    })),
    template: bertTemplate(specials),
  });
}
