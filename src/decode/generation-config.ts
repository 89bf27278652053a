// transformers' generation_config.json as maskwise's decoding settings: the start, end and pad
// ids, forced first and last tokens, banned sequences, beams, length penalty, lengths and the
// no-repeat n-gram size. Keys it does not read (sampling settings, caching flags) are ignored;
// a key it reads with a wrong type is an error naming it. Flags given to a command override.
import { MaskwiseError } from "../util/errors.js";
import type { GenerationOptions } from "./types.js";

export interface GenerationSettings {
  decoderStartTokenId?: number;
  bosTokenId?: number;
  /** The first of eos_token_id when it is a list. */
  eosTokenId?: number;
  padTokenId?: number;
  forcedBosTokenId?: number;
  forcedEosTokenId?: number;
  badWordsIds?: number[][];
  numBeams?: number;
  lengthPenalty?: number;
  /** transformers' max_length: the whole output, an encoder-decoder's start token included. */
  maxLength?: number;
  maxNewTokens?: number;
  noRepeatNgramSize?: number;
}

/** The settings of a generation_config.json object; `source` names the file in errors. */
export function parseGenerationConfig(
  raw: Readonly<Record<string, unknown>>,
  source: string,
): GenerationSettings {
  const bad = (key: string, want: string): never => {
    throw new MaskwiseError(`'${key}' must be ${want}, got ${JSON.stringify(raw[key])}`, {
      code: "E_CONFIG",
      where: `${source}: ${key}`,
    });
  };
  const id = (key: string): number | undefined => {
    const v = raw[key];
    if (v === undefined || v === null) return undefined;
    if (Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x) && x >= 0))
      return v[0] as number;
    if (!Number.isInteger(v) || (v as number) < 0) bad(key, "a token id or a list of them");
    return v as number;
  };
  const int = (key: string, min: number): number | undefined => {
    const v = raw[key];
    if (v === undefined || v === null) return undefined;
    if (!Number.isInteger(v) || (v as number) < min) bad(key, `an integer >= ${min}`);
    return v as number;
  };
  const num = (key: string): number | undefined => {
    const v = raw[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v)) bad(key, "a number");
    return v as number;
  };
  let badWordsIds: number[][] | undefined;
  if (raw.bad_words_ids !== undefined && raw.bad_words_ids !== null) {
    const v = raw.bad_words_ids;
    const ok =
      Array.isArray(v) &&
      v.every(
        (s) => Array.isArray(s) && s.length > 0 && s.every((x) => Number.isInteger(x) && x >= 0),
      );
    if (!ok) bad("bad_words_ids", "a list of non-empty lists of token ids");
    badWordsIds = v as number[][];
  }
  const out: GenerationSettings = {
    decoderStartTokenId: id("decoder_start_token_id"),
    bosTokenId: id("bos_token_id"),
    eosTokenId: id("eos_token_id"),
    padTokenId: id("pad_token_id"),
    forcedBosTokenId: id("forced_bos_token_id"),
    forcedEosTokenId: id("forced_eos_token_id"),
    badWordsIds,
    numBeams: int("num_beams", 1),
    lengthPenalty: num("length_penalty"),
    maxLength: int("max_length", 1),
    maxNewTokens: int("max_new_tokens", 1),
    noRepeatNgramSize: int("no_repeat_ngram_size", 0),
  };
  for (const k of Object.keys(out) as (keyof GenerationSettings)[])
    if (out[k] === undefined) delete out[k];
  return out;
}

/**
 * The new tokens an encoder-decoder may generate: max_new_tokens, else max_length less the start
 * token; undefined when the settings give neither.
 */
export function maxNewTokens(s: GenerationSettings): number | undefined {
  if (s.maxNewTokens !== undefined) return s.maxNewTokens;
  return s.maxLength !== undefined ? Math.max(1, s.maxLength - 1) : undefined;
}

/**
 * Decoding options from the settings, over a model's own ids: the start token (the decoder
 * start, else bos), eos, forced first and last tokens and banned sequences; `maxLength` new tokens.
 */
export function generationOptions(
  s: GenerationSettings,
  model: { startToken: number; eosToken: number },
  maxLength: number,
): GenerationOptions {
  return {
    startToken: s.decoderStartTokenId ?? model.startToken,
    eosToken: s.eosTokenId ?? model.eosToken,
    maxLength,
    ...(s.forcedBosTokenId !== undefined ? { forcedFirstToken: s.forcedBosTokenId } : {}),
    ...(s.forcedEosTokenId !== undefined ? { forcedLastToken: s.forcedEosTokenId } : {}),
    ...(s.badWordsIds ? { badWordsIds: s.badWordsIds } : {}),
    ...(s.noRepeatNgramSize ? { noRepeatNgramSize: s.noRepeatNgramSize } : {}),
  };
}
