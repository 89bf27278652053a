// The self-supervised objectives of `maskwise pretrain`, built from a tokenizer's special tokens.
// Which model trains on each is the families' to say (`objectives` in src/models/families/*):
//   mlm     masked LM (BERT)                     encoder-only
//   span    span corruption with sentinels (T5)  encoder-decoder
//   infill  text infilling (BART)                encoder-decoder
//   mass    masked fragment (MASS)               encoder-decoder
//   clm     causal LM (GPT)                      decoder-only
// Every noising objective draws from the Rng it is given (see ./examples.ts for the seeding).
import { textInfilling } from "../objectives/infilling.js";
import { causalLM } from "../objectives/lm.js";
import { mass } from "../objectives/mass.js";
import { maskedLM } from "../objectives/mlm.js";
import { spanCorruption } from "../objectives/span-corruption.js";
import type { Example, SpecialIds } from "../objectives/types.js";
import { sentinelTokens, type Tokenizer } from "../tokenizer/index.js";
import type { ModelTokenizer } from "../tokenizer/model-tokenizer.js";
import { MaskwiseError } from "../util/errors.js";
import { Rng } from "../util/rng.js";
import { type ExampleSource, noisedExamples, type Objective } from "./examples.js";

export const OBJECTIVES = ["mlm", "span", "infill", "mass", "clm"] as const;
export type ObjectiveName = (typeof OBJECTIVES)[number];

/** The noise rate each objective uses unless told otherwise (MASS: the fragment's share). */
export const DEFAULT_RATE: Record<ObjectiveName, number> = {
  mlm: 0.15,
  span: 0.15,
  infill: 0.3,
  mass: 0.5,
  clm: 0,
};

/** Sentinels span corruption needs for sequences of up to `maxLen` tokens (mean span 3). */
export function sentinelsNeeded(maxLen: number, rate: number): number {
  return Math.max(8, Math.round((maxLen * rate) / 3) + 2);
}

/** The roles of special tokens the objectives use. */
export type TokenRole = "mask" | "eos" | "pad" | "bos";

/** What the objectives need of a tokenizer. */
export interface ObjectiveVocabulary {
  readonly vocabSize: number;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** The ids masking never picks. */
  specialIds(): Set<number>;
  /** Each role's token where it is not maskwise's (<mask>, </s>, <pad>, <s>): BERT's [MASK]. */
  readonly roles?: Partial<Record<TokenRole, string>>;
}

const MASKWISE_ROLES: Record<TokenRole, string> = {
  mask: "<mask>",
  eos: "</s>",
  pad: "<pad>",
  bos: "<s>",
};

/** A maskwise tokenizer as the objectives see it: its added special tokens, maskwise's names. */
export function maskwiseVocabulary(tok: Tokenizer): ObjectiveVocabulary {
  return {
    vocabSize: tok.vocabSize,
    tokenToId: (t) => tok.tokenToId(t),
    idToToken: (id) => tok.idToToken(id),
    specialIds: () => new Set(tok.parts.addedTokens.filter((t) => t.special).map((t) => t.id)),
  };
}

/**
 * A pretrained model's tokenizer as the objectives see it: the roles are tokenizer_config.json's
 * mask_token, eos_token (else sep_token, BERT's [SEP]), pad_token and bos_token (else cls_token).
 */
export function pretrainedVocabulary(tok: ModelTokenizer): ObjectiveVocabulary {
  const named = tok.config?.specialTokens ?? {};
  const roles: Partial<Record<TokenRole, string>> = {};
  const set = (role: TokenRole, ...keys: string[]) => {
    const k = keys.find((x) => named[x] !== undefined);
    if (k !== undefined) roles[role] = named[k];
  };
  set("mask", "mask_token");
  set("eos", "eos_token", "sep_token");
  set("pad", "pad_token");
  set("bos", "bos_token", "cls_token");
  return {
    vocabSize: tok.vocabSize,
    tokenToId: (t) => tok.tokenToId(t),
    idToToken: (id) => tok.idToToken(id),
    specialIds: () => tok.specialIds(),
    roles,
  };
}

/** The id of the token the objectives end a sequence with (eos; BERT's [SEP]), or -1. */
export function endTokenId(tok: ObjectiveVocabulary): number {
  return tok.tokenToId(tok.roles?.eos ?? MASKWISE_ROLES.eos) ?? -1;
}

function need(tok: ObjectiveVocabulary, role: TokenRole, objective: string): number {
  const token = tok.roles?.[role] ?? MASKWISE_ROLES[role];
  const id = tok.tokenToId(token);
  if (id === undefined) {
    throw new MaskwiseError(`the tokenizer has no ${token} token, which ${objective} needs`, {
      code: "E_TOKENIZER",
      where: "tokenizer.json",
      hint: "let maskwise pretrain train the tokenizer, or add the token to its special tokens",
    });
  }
  return id;
}

/**
 * The special ids an objective uses. Span corruption masks with sentinels, not a mask token, so
 * for it (`maskOptional`) a tokenizer without one (T5's) gives -1.
 */
export function specialIds(
  tok: ObjectiveVocabulary,
  objective: string,
  { maskOptional = false } = {},
): SpecialIds {
  const maskToken = tok.roles?.mask ?? MASKWISE_ROLES.mask;
  return {
    mask:
      maskOptional && tok.tokenToId(maskToken) === undefined ? -1 : need(tok, "mask", objective),
    eos: need(tok, "eos", objective),
    pad: need(tok, "pad", objective),
    special: tok.specialIds(),
    vocabSize: tok.vocabSize,
  };
}

export interface ObjectiveOptions {
  rate?: number;
  /** mlm: mask whole words (all pieces of a word together). */
  wholeWord?: boolean;
}

/**
 * The objective as a function of a clean token sequence (no specials) and an Rng. `fixed` is true
 * when it draws nothing (clm): its examples can be made once.
 */
export function pretrainingObjective(
  name: ObjectiveName,
  tokenizer: Tokenizer | ObjectiveVocabulary,
  options: ObjectiveOptions = {},
): { objective: Objective; fixed: boolean } {
  const tok = "specialIds" in tokenizer ? tokenizer : maskwiseVocabulary(tokenizer);
  const rate = options.rate ?? DEFAULT_RATE[name];
  const max = name === "mlm" ? 0.5 : 0.9;
  if (name !== "clm" && !(rate > 0 && rate <= max)) {
    throw new MaskwiseError(`a ${name} noise rate of ${rate} is out of range`, {
      code: "E_ARG",
      where: "--mask-rate",
      hint: `use a rate in (0, ${max}]`,
    });
  }
  if (name === "clm") {
    const bos = need(tok, "bos", "clm");
    const eos = need(tok, "eos", "clm");
    return { objective: (t) => causalLM([bos, ...t, eos]), fixed: true };
  }
  const ids = specialIds(tok, name, { maskOptional: name === "span" });
  if (name === "mlm") {
    // A piece that starts with the pre-tokenizer's word marker (metaspace ▁, byte-level Ġ) starts
    // a word; WordPiece (BERT) marks the other way round, the pieces that continue one (##). The
    // trailing eos is special and never masked.
    const pieces = Array.from({ length: tok.vocabSize }, (_, id) => tok.idToToken(id) ?? "");
    const wordPiece = pieces.some((p) => p.startsWith("##") && p.length > 2);
    const starts = options.wholeWord
      ? pieces.map((p) => (wordPiece ? !p.startsWith("##") : /^[\u2581\u0120]/.test(p)))
      : null;
    return {
      objective: (t, rng) =>
        maskedLM([...t, ids.eos], ids, rng, {
          rate,
          ...(starts ? { wordStarts: [...t.map((id) => starts[id]), true] } : {}),
        }),
      fixed: false,
    };
  }
  if (name === "span") {
    const sentinels: number[] = [];
    for (const s of sentinelTokens(1000)) {
      const id = tok.tokenToId(s);
      if (id === undefined) break;
      sentinels.push(id);
    }
    if (sentinels.length === 0)
      need({ ...tok, roles: { mask: "<extra_id_0>" } }, "mask", "span corruption");
    return {
      objective: (t, rng) => spanCorruption(t, ids, sentinels, rng, { noiseDensity: rate }),
      fixed: false,
    };
  }
  if (name === "infill")
    return { objective: (t, rng) => textInfilling(t, ids, rng, { rate }), fixed: false };
  return { objective: (t, rng) => mass(t, ids, rng, { fragment: rate }), fixed: false };
}

/**
 * Held-out validation lines: a fixed shuffle (not the run's seed), so every run on the same
 * lines holds out the same ones; `fraction` of them, at most 2,000.
 */
export function holdOut(
  lines: readonly string[],
  fraction: number,
): { train: string[]; valid: string[] } {
  const n = Math.min(2000, Math.ceil(lines.length * fraction));
  const held = new Set(new Rng(20240601).shuffle(lines.map((_, i) => i)).slice(0, n));
  return {
    train: lines.filter((_, i) => !held.has(i)),
    valid: lines.filter((_, i) => held.has(i)),
  };
}

/**
 * Token sequences of text lines: a line longer than `maxLen` becomes several (none of the text
 * is dropped), each with room for what an objective adds (eos; bos for clm).
 */
export function linePieces(
  lines: readonly string[],
  tok: Pick<Tokenizer, "encode">,
  maxLen: number,
): number[][] {
  const piece = maxLen - 2;
  return lines.flatMap((l) => {
    const ids = tok.encode(l);
    const out: number[][] = [];
    for (let i = 0; i < ids.length; i += piece) out.push(ids.slice(i, i + piece));
    return out;
  });
}

/**
 * The examples of a pretraining run: an objective that draws nothing (clm) is applied once; a
 * noising one draws per epoch from the run's seed, and validation once (as epoch 0) from a seed
 * of its own.
 */
export function pretrainingData(
  train: readonly number[][],
  valid: readonly number[][],
  o: { objective: Objective; fixed: boolean },
  seed: number,
): { train: Example[] | ExampleSource; valid: Example[] | ExampleSource } {
  const { objective } = o;
  if (o.fixed) {
    return {
      train: train.map((t) => objective(t, new Rng(0))),
      valid: valid.map((t) => objective(t, new Rng(0))),
    };
  }
  return {
    train: noisedExamples(train, objective, seed, 2),
    valid: noisedExamples(valid, objective, seed + 7919, 2),
  };
}
