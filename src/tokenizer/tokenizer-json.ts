// Hugging Face `tokenizer.json` (format "1.0", as `tokenizers` 0.20+ writes it, merges as pairs)
// for the parts maskwise trains: NFKC-style normalisers, Metaspace or ByteLevel pre-tokenizer and
// decoder, a BPE model, added tokens and a TemplateProcessing post-processor. Loading accepts the
// same subset, plus merges in the older "a b" string form, and names the field it cannot use.
import { MaskwiseError } from "../util/errors.js";
import type { AddedToken } from "./added-tokens.js";
import { type BertNormalizerOptions, bertNormalizerJson } from "./bert.js";
import { BpeModel } from "./bpe-model.js";
import { byteLevelJson } from "./byte-level.js";
import { METASPACE, metaspaceJson } from "./metaspace.js";
import { type NormalizerName, normalizerJson } from "./normalizer.js";
import { type TemplateItem, Tokenizer, type TokenizerParts } from "./tokenizer.js";
import { WordPieceModel } from "./wordpiece-model.js";

function templateJson(items: TemplateItem[]): unknown[] {
  return items.map((it) =>
    "special" in it
      ? { SpecialToken: { id: it.special, type_id: it.typeId ?? 0 } }
      : { Sequence: { id: it.sequence, type_id: it.typeId } },
  );
}

/** The tokenizer as a `tokenizer.json` object (serialise with JSON.stringify). */
export function tokenizerToJson(tok: Tokenizer): Record<string, unknown> {
  const p = tok.parts;
  const wp = p.model instanceof WordPieceModel ? p.model : null;
  const pre =
    p.preTokenizer === "metaspace"
      ? metaspaceJson
      : p.preTokenizer === "bert"
        ? { type: "BertPreTokenizer" }
        : { ...byteLevelJson, add_prefix_space: p.addPrefixSpace ?? false };
  let post: unknown = null;
  if (p.template !== null) {
    const specials: Record<string, unknown> = {};
    for (const it of [...p.template.single, ...p.template.pair]) {
      if ("special" in it) {
        specials[it.special] = {
          id: it.special,
          ids: [tok.tokenToId(it.special)],
          tokens: [it.special],
        };
      }
    }
    post = {
      type: "TemplateProcessing",
      single: templateJson(p.template.single),
      pair: templateJson(p.template.pair),
      special_tokens: specials,
    };
  }
  // Object key order is insertion order, so the vocabulary is written in id order.
  const vocab: Record<string, number> = {};
  for (let id = 0; id < p.model.size; id++) {
    const t = p.model.token(id);
    if (t !== undefined) vocab[t] = id;
  }
  const bpe = p.model instanceof BpeModel ? p.model : null;
  let decoder: unknown = pre;
  if (p.decoder === false) decoder = null;
  else if (wp !== null)
    decoder = { type: "WordPiece", prefix: wp.continuingSubwordPrefix, cleanup: true };
  else if (bpe?.byteFallback)
    decoder = { type: "Sequence", decoders: [{ type: "ByteFallback" }, pre] };
  const model =
    wp !== null
      ? {
          type: "WordPiece",
          unk_token: wp.unkToken,
          continuing_subword_prefix: wp.continuingSubwordPrefix,
          max_input_chars_per_word: wp.maxInputCharsPerWord,
          vocab,
        }
      : {
          type: "BPE",
          dropout: null,
          unk_token: bpe?.unkToken ?? null,
          continuing_subword_prefix: null,
          end_of_word_suffix: null,
          fuse_unk: false,
          byte_fallback: bpe?.byteFallback ?? false,
          ignore_merges: false,
          vocab,
          merges: (bpe?.merges ?? []).map(([a, b]) => [a, b]),
        };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: p.addedTokens.map((t) => ({
      id: t.id,
      content: t.content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: t.special,
    })),
    normalizer: p.bert !== undefined ? bertNormalizerJson(p.bert) : normalizerJson(p.normalizer),
    pre_tokenizer: pre,
    post_processor: post,
    decoder,
    model,
  };
}

/** Serialises as `tokenizers` does with pretty=true (two-space indent). */
export function tokenizerToString(tok: Tokenizer): string {
  return `${JSON.stringify(tokenizerToJson(tok), null, 2)}\n`;
}

type Obj = Record<string, unknown>;

function bad(field: string, what: string, hint: string, source: string): never {
  throw new MaskwiseError(what, {
    code: "E_TOKENIZER",
    where: `${source}: ${field}`,
    hint,
  });
}

const isObj = (x: unknown): x is Obj => typeof x === "object" && x !== null && !Array.isArray(x);

function parseNormalizer(n: unknown, source: string): NormalizerName[] {
  if (n === null || n === undefined) return [];
  const known = new Set(["NFC", "NFD", "NFKC", "NFKD", "Lowercase"]);
  if (!isObj(n))
    bad("normalizer", "normalizer is not an object", "use null or {type: NFKC}", source);
  if (n.type === "Sequence" && Array.isArray(n.normalizers))
    return n.normalizers.flatMap((x) => parseNormalizer(x, source));
  if (typeof n.type === "string" && known.has(n.type)) return [n.type as NormalizerName];
  return bad(
    "normalizer.type",
    `normalizer ${JSON.stringify(n.type)} is not supported`,
    "maskwise reads NFC, NFD, NFKC, NFKD, Lowercase and Sequence of them",
    source,
  );
}

function parseBertNormalizer(n: unknown, source: string): BertNormalizerOptions | undefined {
  if (!isObj(n) || n.type !== "BertNormalizer") return undefined;
  if (n.clean_text === false || n.handle_chinese_chars === false)
    bad(
      "normalizer",
      "BertNormalizer without clean_text or handle_chinese_chars is not supported",
      "set both to true",
      source,
    );
  const lowercase = n.lowercase !== false;
  // strip_accents null follows lowercase, as in BERT's uncased models.
  const stripAccents =
    n.strip_accents === null || n.strip_accents === undefined
      ? lowercase
      : n.strip_accents === true;
  return { lowercase, stripAccents };
}

function parsePreTokenizer(
  p: unknown,
  source: string,
): Pick<TokenizerParts, "preTokenizer" | "addPrefixSpace"> {
  if (isObj(p) && p.type === "Metaspace") {
    if ((p.replacement ?? METASPACE) !== METASPACE || (p.prepend_scheme ?? "always") !== "always")
      bad(
        "pre_tokenizer",
        "only Metaspace with replacement ▁ and prepend_scheme always is supported",
        "retrain with maskwise or convert the file",
        source,
      );
    return { preTokenizer: "metaspace" };
  }
  if (isObj(p) && p.type === "BertPreTokenizer") return { preTokenizer: "bert" };
  if (isObj(p) && p.type === "ByteLevel") {
    if (p.use_regex === false)
      bad(
        "pre_tokenizer.use_regex",
        "ByteLevel without use_regex is not supported",
        "set use_regex: true",
        source,
      );
    return { preTokenizer: "byte-level", addPrefixSpace: p.add_prefix_space === true };
  }
  return bad(
    "pre_tokenizer",
    `pre_tokenizer ${JSON.stringify(isObj(p) ? p.type : p)} is not supported`,
    "maskwise reads Metaspace and ByteLevel",
    source,
  );
}

function parseTemplate(items: unknown, field: string, source: string): TemplateItem[] {
  if (!Array.isArray(items))
    bad(field, `${field} is not a list`, "write the template as a list", source);
  return items.map((it, i) => {
    if (isObj(it) && isObj(it.SpecialToken) && typeof it.SpecialToken.id === "string")
      return { special: it.SpecialToken.id, typeId: Number(it.SpecialToken.type_id ?? 0) };
    if (isObj(it) && isObj(it.Sequence) && (it.Sequence.id === "A" || it.Sequence.id === "B"))
      return { sequence: it.Sequence.id, typeId: Number(it.Sequence.type_id ?? 0) };
    return bad(
      `${field}[${i}]`,
      "template item is neither SpecialToken nor Sequence",
      "fix the template",
      source,
    );
  });
}

/** Builds a tokenizer from a parsed `tokenizer.json`; `source` names the file in errors. */
export function tokenizerFromJson(json: unknown, source = "tokenizer.json"): Tokenizer {
  if (!isObj(json)) bad("(top)", "tokenizer.json is not an object", "check the file", source);
  const m = json.model;
  if (!isObj(m) || (m.type !== "BPE" && m.type !== "WordPiece"))
    bad(
      "model.type",
      `model type ${JSON.stringify(isObj(m) ? m.type : m)} is not supported`,
      "maskwise reads BPE and WordPiece models",
      source,
    );
  const isWordPiece = m.type === "WordPiece";
  for (const k of isWordPiece
    ? []
    : ["dropout", "continuing_subword_prefix", "end_of_word_suffix"]) {
    if (m[k] !== null && m[k] !== undefined)
      bad(`model.${k}`, `model.${k} is not supported`, `set it to null`, source);
  }
  if (m.ignore_merges === true || m.fuse_unk === true)
    bad("model", "ignore_merges and fuse_unk are not supported yet", "set them to false", source);
  if (!isObj(m.vocab)) bad("model.vocab", "model.vocab is not an object", "check the file", source);
  const vocab = new Map<string, number>();
  for (const [t, id] of Object.entries(m.vocab)) {
    if (!Number.isInteger(id) || (id as number) < 0)
      bad(`model.vocab["${t}"]`, "token id is not a non-negative integer", "fix the id", source);
    vocab.set(t, id as number);
  }
  if (!isWordPiece && !Array.isArray(m.merges))
    bad("model.merges", "model.merges is not a list", "check the file", source);
  const merges = (isWordPiece ? [] : (m.merges as unknown[])).map((x, i): [string, string] => {
    if (Array.isArray(x) && x.length === 2 && typeof x[0] === "string" && typeof x[1] === "string")
      return [x[0], x[1]];
    if (typeof x === "string") {
      const parts = x.split(" ");
      if (parts.length === 2) return [parts[0], parts[1]];
    }
    return bad(`model.merges[${i}]`, 'merge is neither [a, b] nor "a b"', "fix the merge", source);
  });
  const unk = m.unk_token === null || m.unk_token === undefined ? null : String(m.unk_token);
  let model: BpeModel | WordPieceModel;
  try {
    model = isWordPiece
      ? new WordPieceModel(
          vocab,
          unk ?? "[UNK]",
          String(m.continuing_subword_prefix ?? "##"),
          Number(m.max_input_chars_per_word ?? 100),
        )
      : new BpeModel(vocab, merges, unk, m.byte_fallback === true);
  } catch (e) {
    if (e instanceof MaskwiseError) bad(e.where ?? "model", e.message, e.hint ?? "", source);
    throw e;
  }
  const addedTokens: AddedToken[] = [];
  const added = json.added_tokens ?? [];
  if (!Array.isArray(added))
    bad("added_tokens", "added_tokens is not a list", "check the file", source);
  let maxAdded = -1;
  added.forEach((t, i) => {
    if (!isObj(t) || typeof t.content !== "string" || !Number.isInteger(t.id))
      bad(`added_tokens[${i}]`, "added token needs content and id", "fix the entry", source);
    if (t.normalized === true || t.lstrip === true || t.rstrip === true || t.single_word === true)
      bad(
        `added_tokens[${i}]`,
        "normalized, lstrip, rstrip and single_word added tokens are not supported",
        "set them to false",
        source,
      );
    // The Rust loader ignores the written id: a token the model knows takes the model's id, a
    // new one the next id after the vocabulary and the added tokens so far (AddedVocabulary).
    let id = vocab.get(t.content) ?? addedTokens.find((a) => a.content === t.content)?.id;
    if (id === undefined) {
      id = maxAdded < 0 ? vocab.size : maxAdded >= vocab.size ? maxAdded + 1 : vocab.size;
    }
    maxAdded = Math.max(maxAdded, id);
    addedTokens.push({ id, content: t.content, special: t.special === true });
  });
  const pre = parsePreTokenizer(json.pre_tokenizer, source);
  const dec = json.decoder;
  if (model instanceof WordPieceModel) {
    if (dec !== null && dec !== undefined) {
      if (!isObj(dec) || dec.type !== "WordPiece" || dec.cleanup === false)
        bad(
          "decoder",
          "a WordPiece model needs the WordPiece decoder with cleanup",
          "use {type: WordPiece, prefix: ##, cleanup: true}",
          source,
        );
      if ((dec.prefix ?? "##") !== model.continuingSubwordPrefix)
        bad(
          "decoder.prefix",
          "decoder prefix differs from model.continuing_subword_prefix",
          "make them equal",
          source,
        );
    }
  } else if (dec !== null && dec !== undefined) {
    const want = pre.preTokenizer === "metaspace" ? "Metaspace" : "ByteLevel";
    const fallback = model.byteFallback;
    const inner =
      isObj(dec) && dec.type === "Sequence" && Array.isArray(dec.decoders)
        ? dec.decoders.map((d) => (isObj(d) ? d.type : d))
        : [isObj(dec) ? dec.type : dec];
    const expected = fallback ? ["ByteFallback", want] : [want];
    if (inner.join() !== expected.join())
      bad(
        "decoder",
        `decoder must be ${fallback ? `Sequence [ByteFallback, ${want}]` : want} to match the model and pre-tokenizer`,
        "write the decoder maskwise writes for this model",
        source,
      );
  }
  let template: TokenizerParts["template"] = null;
  const post = json.post_processor;
  if (isObj(post) && post.type === "TemplateProcessing") {
    template = {
      single: parseTemplate(post.single, "post_processor.single", source),
      pair: parseTemplate(post.pair ?? [], "post_processor.pair", source),
    };
  } else if (post !== null && post !== undefined && !(isObj(post) && post.type === "ByteLevel")) {
    bad(
      "post_processor",
      `post_processor ${JSON.stringify(isObj(post) ? post.type : post)} is not supported`,
      "use TemplateProcessing or null",
      source,
    );
  }
  const bert = parseBertNormalizer(json.normalizer, source);
  const tok = new Tokenizer({
    normalizer: bert === undefined ? parseNormalizer(json.normalizer, source) : [],
    bert,
    ...pre,
    decoder: dec !== null && dec !== undefined,
    model,
    addedTokens,
    template,
  });
  if (template !== null) {
    for (const it of [...template.single, ...template.pair]) {
      if ("special" in it && tok.tokenToId(it.special) === undefined)
        bad(
          "post_processor",
          `template token "${it.special}" is not in the vocabulary`,
          "add it to added_tokens",
          source,
        );
    }
  }
  return tok;
}

/** Parses `tokenizer.json` text. */
export function tokenizerFromString(text: string, source = "tokenizer.json"): Tokenizer {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    bad("(top)", `not valid JSON (${(e as Error).message})`, "check the file", source);
  }
  return tokenizerFromJson(json, source);
}
