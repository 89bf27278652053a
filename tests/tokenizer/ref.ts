// The reference tokenizers in ../shared/ref/tokenizers: each folder is a model repository's
// tokenizer files and an expected.json computed by transformers, tokenizers and sentencepiece.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { shared } from "./oracle.js";

export const refRoot = join(shared, "ref", "tokenizers");

export const REF_CASES = [
  "t5_unigram",
  "marian",
  "llama_spm_bpe",
  "llama_spm_bpe_legacy",
  "gpt2_bytelevel",
  "qwen2_style",
  "bert_wordpiece_chinese",
] as const;

/** The cases that ship a tokenizer.json (all but Marian). */
export const JSON_CASES = REF_CASES.filter((c) => existsSync(join(refRoot, c, "tokenizer.json")));

export interface RefRow {
  text: string;
  ids: number[];
  tokens: string[];
  offsets: [number, number][];
  ids_no_special: number[];
  tokens_no_special: string[];
  offsets_no_special: [number, number][];
  decode: string;
  decode_skip_special: string;
  spm_ids?: number[];
  spm_pieces?: string[];
  spm_decode?: string;
  source?: Record<string, unknown>;
  target?: Record<string, unknown>;
}

export interface RefPair {
  text: string;
  pair: string;
  ids: number[];
  tokens: string[];
  offsets: [number, number][];
  token_type_ids: number[];
  decode: string;
}

export interface RefExpected {
  rows: RefRow[];
  pairs?: RefPair[];
  chat?: {
    messages: { role: string; content: string }[];
    text: string;
    ids: number[];
    text_no_generation_prompt: string;
    ids_no_generation_prompt: number[];
  }[];
}

export const refDir = (c: string) => join(refRoot, c);
export const refFile = (c: string, f: string) => join(refRoot, c, f);
export const expected = (c: string): RefExpected =>
  JSON.parse(readFileSync(refFile(c, "expected.json"), "utf8"));
