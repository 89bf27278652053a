// Reads a whole Hugging Face tokenizer.json into a PretrainedTokenizer: models BPE, WordPiece,
// WordLevel and Unigram; every normalizer, pre-tokenizer, post-processor and decoder that
// released models use; added tokens with their matching options; truncation and padding.
import { MaskwiseError } from "../util/errors.js";
import { BpeModel } from "./bpe-model.js";
import { parseDecoder } from "./decoders.js";
import { type ComponentSource, fail, isObj, type Obj } from "./json-util.js";
import type { SubwordModel } from "./model.js";
import { parseNormalizer } from "./normalizers.js";
import { parsePostProcessor } from "./post-processors.js";
import { parsePreTokenizer } from "./pre-tokenizers.js";
import {
  type AddedTokenSpec,
  type Padding,
  PretrainedTokenizer,
  type Truncation,
} from "./pretrained-tokenizer.js";
import { UnigramModel } from "./unigram-model.js";
import { WordLevelModel } from "./wordlevel-model.js";
import { WordPieceModel } from "./wordpiece-model.js";

function vocabMap(m: Obj, src: ComponentSource): Map<string, number> {
  if (!isObj(m.vocab)) fail(src, "model.vocab", "model.vocab is not an object", "check the file");
  const vocab = new Map<string, number>();
  for (const [t, id] of Object.entries(m.vocab)) {
    if (!Number.isInteger(id) || (id as number) < 0)
      fail(src, `model.vocab["${t}"]`, "token id is not a non-negative integer", "fix the id");
    vocab.set(t, id as number);
  }
  return vocab;
}

function parseMerges(m: Obj, src: ComponentSource): [string, string][] {
  if (!Array.isArray(m.merges))
    fail(src, "model.merges", "model.merges is not a list", "check the file");
  return m.merges.map((x, i): [string, string] => {
    if (Array.isArray(x) && x.length === 2 && typeof x[0] === "string" && typeof x[1] === "string")
      return [x[0], x[1]];
    if (typeof x === "string") {
      const at = x.indexOf(" ", 1);
      if (at > 0) return [x.slice(0, at), x.slice(at + 1)];
    }
    return fail(src, `model.merges[${i}]`, 'merge is neither [a, b] nor "a b"', "fix the merge");
  });
}

const optString = (x: unknown): string | null => (typeof x === "string" ? x : null);

export function parseModel(m: unknown, src: ComponentSource): SubwordModel {
  if (!isObj(m)) return fail(src, "model", "model is not an object", "check the file");
  try {
    switch (m.type ?? (Array.isArray(m.vocab) ? "Unigram" : "merges" in m ? "BPE" : undefined)) {
      case "BPE":
        if (typeof m.dropout === "number" && m.dropout > 0)
          fail(
            src,
            "model.dropout",
            "BPE dropout is not supported (it is random)",
            "set dropout to null",
          );
        return new BpeModel(
          vocabMap(m, src),
          parseMerges(m, src),
          optString(m.unk_token),
          m.byte_fallback === true,
          {
            fuseUnk: m.fuse_unk === true,
            continuingSubwordPrefix: optString(m.continuing_subword_prefix),
            endOfWordSuffix: optString(m.end_of_word_suffix),
            ignoreMerges: m.ignore_merges === true,
          },
        );
      case "WordPiece":
        return new WordPieceModel(
          vocabMap(m, src),
          optString(m.unk_token) ?? "[UNK]",
          optString(m.continuing_subword_prefix) ?? "##",
          Number(m.max_input_chars_per_word ?? 100),
        );
      case "WordLevel":
        return new WordLevelModel(vocabMap(m, src), optString(m.unk_token) ?? "<unk>");
      case "Unigram": {
        if (!Array.isArray(m.vocab))
          fail(src, "model.vocab", "Unigram vocab is not a list", "check the file");
        const pieces = m.vocab.map((x, i): [string, number] => {
          if (Array.isArray(x) && typeof x[0] === "string" && typeof x[1] === "number")
            return [x[0], x[1]];
          return fail(
            src,
            `model.vocab[${i}]`,
            "Unigram piece is not [piece, score]",
            "fix the entry",
          );
        });
        return new UnigramModel(pieces, {
          unkId: typeof m.unk_id === "number" ? m.unk_id : null,
          byteFallback: m.byte_fallback === true,
        });
      }
      default:
        return fail(
          src,
          "model.type",
          `model type ${JSON.stringify(m.type)} is not supported`,
          "maskwise reads BPE, WordPiece, WordLevel and Unigram",
        );
    }
  } catch (e) {
    if (e instanceof MaskwiseError && !(e.where ?? "").startsWith(src))
      fail(src, e.where ?? "model", e.message, e.hint ?? "check the model");
    throw e;
  }
}

/** Added tokens get their ids as the Rust loader gives them: the model's id when the vocabulary
 * has the token, otherwise the next id after the vocabulary and the added tokens so far. */
function parseAddedTokens(x: unknown, model: SubwordModel, src: ComponentSource): AddedTokenSpec[] {
  if (x === undefined || x === null) return [];
  if (!Array.isArray(x))
    return fail(src, "added_tokens", "added_tokens is not a list", "check the file");
  const out: AddedTokenSpec[] = [];
  let next = model.size;
  for (const [i, t] of x.entries()) {
    if (!isObj(t) || typeof t.content !== "string")
      fail(src, `added_tokens[${i}]`, "added token needs a content string", "fix the entry");
    let id = model.vocab.get(t.content) ?? out.find((a) => a.content === t.content)?.id;
    if (id === undefined) {
      // The written id is used when it is free (it normally is); the Rust loader appends.
      id = next;
    }
    next = Math.max(next, id + 1);
    out.push({
      id,
      content: t.content,
      special: t.special === true,
      normalized: t.normalized === undefined ? t.special !== true : t.normalized === true,
      singleWord: t.single_word === true,
      lstrip: t.lstrip === true,
      rstrip: t.rstrip === true,
    });
  }
  return out;
}

function parseTruncation(t: unknown, src: ComponentSource): Truncation | null {
  if (t === null || t === undefined) return null;
  if (!isObj(t) || typeof t.max_length !== "number")
    return fail(src, "truncation", "truncation needs max_length", "check the file");
  const strategy = String(t.strategy ?? "LongestFirst");
  return {
    maxLength: t.max_length,
    strategy:
      strategy === "OnlyFirst"
        ? "only_first"
        : strategy === "OnlySecond"
          ? "only_second"
          : "longest_first",
    direction: t.direction === "Left" ? "left" : "right",
  };
}

function parsePadding(p: unknown, src: ComponentSource): Padding | null {
  if (p === null || p === undefined) return null;
  if (!isObj(p)) return fail(src, "padding", "padding is not an object", "check the file");
  const s = p.strategy;
  const length = isObj(s) && typeof s.Fixed === "number" ? s.Fixed : null;
  return {
    length,
    multipleOf: typeof p.pad_to_multiple_of === "number" ? p.pad_to_multiple_of : null,
    direction: p.direction === "Left" ? "left" : "right",
    padId: Number(p.pad_id ?? 0),
    padTypeId: Number(p.pad_type_id ?? 0),
    padToken: String(p.pad_token ?? "[PAD]"),
  };
}

/** Builds the tokenizer a parsed tokenizer.json describes; `source` names the file in errors. */
export function pretrainedFromJson(json: unknown, source = "tokenizer.json"): PretrainedTokenizer {
  if (!isObj(json)) fail(source, "(top)", "tokenizer.json is not an object", "check the file");
  const model = parseModel(json.model, source);
  const addedTokens = parseAddedTokens(json.added_tokens, model, source);
  const byContent = new Map(addedTokens.map((t) => [t.content, t.id]));
  return new PretrainedTokenizer({
    normalizer: parseNormalizer(json.normalizer, source),
    preTokenizer: parsePreTokenizer(json.pre_tokenizer, source),
    model,
    postProcessor: parsePostProcessor(
      json.post_processor,
      source,
      (t) => byContent.get(t) ?? model.vocab.get(t),
    ),
    decoder: parseDecoder(json.decoder, source),
    addedTokens,
    truncation: parseTruncation(json.truncation, source),
    padding: parsePadding(json.padding, source),
  });
}

/** Parses tokenizer.json text. */
export function pretrainedFromString(text: string, source = "tokenizer.json"): PretrainedTokenizer {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(source, "(top)", `not valid JSON (${(e as Error).message})`, "check the file");
  }
  return pretrainedFromJson(json, source);
}
