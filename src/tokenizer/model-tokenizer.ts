// The tokenizer of a pretrained model, whichever files it ships: a tokenizer.json, a SentencePiece
// `.model`, or Marian's source.spm/target.spm with a joint vocab.json, each with an optional
// tokenizer_config.json (special tokens, add_bos/add_eos for bare SentencePiece files, the chat
// template). One encode/decode surface over all of them; file reading is the caller's (src/node).
import { MaskwiseError } from "../util/errors.js";
import { type MarianSide, MarianTokenizer } from "./marian.js";
import { pretrainedFromString } from "./pretrained-json.js";
import type { AddedTokenSpec, PretrainedTokenizer } from "./pretrained-tokenizer.js";
import { sentencePieceFromBytes } from "./sentencepiece.js";
import {
  applyChatTemplate,
  type ChatMessage,
  type ChatTemplateOptions,
  parseTokenizerConfig,
  type TokenizerConfig,
} from "./tokenizer-config.js";

export interface TokenizerFiles {
  /** tokenizer.json text. */
  tokenizerJson?: string;
  /** A SentencePiece model's bytes (tokenizer.model, spiece.model). */
  sentencePiece?: Uint8Array;
  /** Marian's two SentencePiece models and vocab.json text. */
  marian?: { source: Uint8Array; target: Uint8Array; vocab: string };
  /** tokenizer_config.json text. */
  config?: string;
  /**
   * Chat templates kept in files beside it, by name: chat_template.jinja as "default" and
   * additional_chat_templates/NAME.jinja (transformers >= 4.43 writes them there). Where any
   * is given they replace the config's chat_template, as transformers reads them.
   */
  chatTemplates?: Record<string, string>;
  /** Names the files in errors. */
  source?: string;
}

export interface TextEncoding {
  ids: number[];
  tokens: string[];
  /** [start, end) in Unicode code points of the text. */
  offsets: [number, number][];
}

export interface ModelEncodeOptions {
  addSpecialTokens?: boolean;
  /** Marian: the source or the target language's SentencePiece model (default source). */
  side?: MarianSide;
}

/** transformers' clean_up_tokenization, applied after decoding when tokenizer_config.json sets
 * clean_up_tokenization_spaces: no space before . ? ! , and English contractions. */
export function cleanUpTokenization(text: string): string {
  return text
    .replaceAll(" .", ".")
    .replaceAll(" ?", "?")
    .replaceAll(" !", "!")
    .replaceAll(" ,", ",")
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

export class ModelTokenizer {
  readonly kind: "tokenizer.json" | "sentencepiece" | "marian";
  readonly config: TokenizerConfig | null;
  readonly pipeline: PretrainedTokenizer | null;
  readonly marian: MarianTokenizer | null;

  private constructor(
    kind: ModelTokenizer["kind"],
    pipeline: PretrainedTokenizer | null,
    marian: MarianTokenizer | null,
    config: TokenizerConfig | null,
  ) {
    this.kind = kind;
    this.pipeline = pipeline;
    this.marian = marian;
    this.config = config;
  }

  static fromFiles(files: TokenizerFiles): ModelTokenizer {
    const source = files.source ?? "tokenizer";
    const templates = Object.entries(files.chatTemplates ?? {});
    const config =
      files.config === undefined && templates.length === 0
        ? null
        : parseTokenizerConfig(
            JSON.parse(files.config ?? "{}"),
            `${source}/tokenizer_config.json`,
            templates.length > 0 ? new Map(templates) : undefined,
          );
    if (files.tokenizerJson !== undefined)
      return new ModelTokenizer(
        "tokenizer.json",
        pretrainedFromString(files.tokenizerJson, source),
        null,
        config,
      );
    if (files.marian !== undefined) {
      const vocab = new Map<string, number>(
        Object.entries(JSON.parse(files.marian.vocab)) as [string, number][],
      );
      const specials = {
        eos: config?.eosToken ?? "</s>",
        unk: config?.unkToken ?? "<unk>",
        pad: config?.padToken ?? "<pad>",
      };
      const m = MarianTokenizer.withSpecials(
        sentencePieceFromBytes(files.marian.source, `${source}/source.spm`),
        sentencePieceFromBytes(files.marian.target, `${source}/target.spm`),
        vocab,
        specials,
      );
      return new ModelTokenizer("marian", null, m, config);
    }
    if (files.sentencePiece !== undefined) {
      const bare = sentencePieceFromBytes(files.sentencePiece, source);
      // The config's special tokens are matched in the text, as transformers' slow tokenizers do.
      const added: AddedTokenSpec[] = [];
      for (const t of Object.values(config?.specialTokens ?? {})) {
        const id = bare.tokenToId(t);
        if (id !== undefined && !added.some((a) => a.content === t))
          added.push({
            id,
            content: t,
            special: true,
            normalized: false,
            singleWord: false,
            lstrip: false,
            rstrip: false,
          });
      }
      const pipeline =
        added.length === 0
          ? bare
          : sentencePieceFromBytes(files.sentencePiece, source, { addedTokens: added });
      return new ModelTokenizer("sentencepiece", pipeline, null, config);
    }
    throw new MaskwiseError("no tokenizer files given", {
      code: "E_TOKENIZER",
      where: source,
      hint: "give a tokenizer.json, a SentencePiece .model, or Marian's source.spm, target.spm and vocab.json",
    });
  }

  get vocabSize(): number {
    return this.marian?.vocabSize ?? (this.pipeline as PretrainedTokenizer).vocabSize;
  }

  idToToken(id: number): string | undefined {
    return this.marian?.idToToken(id) ?? this.pipeline?.idToToken(id);
  }

  tokenToId(token: string): number | undefined {
    return this.marian !== null ? this.marian.vocab.get(token) : this.pipeline?.tokenToId(token);
  }

  /**
   * The ids of the special tokens: the added tokens marked special, Marian's eos/unk/pad, and
   * every *_token of tokenizer_config.json that the vocabulary holds (what masking never picks).
   */
  specialIds(): Set<number> {
    const out = new Set<number>();
    if (this.marian !== null) {
      const { eos, unk, pad } = this.marian.specialTokens;
      for (const t of [eos, unk, pad]) {
        const id = this.marian.vocab.get(t);
        if (id !== undefined) out.add(id);
      }
    }
    for (const t of this.pipeline?.addedTokens ?? []) if (t.special) out.add(t.id);
    for (const t of Object.values(this.config?.specialTokens ?? {})) {
      const id = this.tokenToId(t);
      if (id !== undefined) out.add(id);
    }
    return out;
  }

  encode(text: string, options: ModelEncodeOptions = {}): TextEncoding {
    if (this.marian !== null) return this.marian.encode(text, options);
    const p = this.pipeline as PretrainedTokenizer;
    if (this.kind !== "sentencepiece") {
      const e = p.encode(text, null, { addSpecialTokens: options.addSpecialTokens });
      return { ids: e.ids, tokens: e.tokens, offsets: e.offsets };
    }
    // A bare SentencePiece model: the config says whether <s> and </s> wrap the text.
    const e = p.encode(text);
    const out: TextEncoding = { ids: e.ids, tokens: e.tokens, offsets: e.offsets };
    if (options.addSpecialTokens && this.config !== null) {
      const bos = this.config.bosToken;
      const eos = this.config.eosToken;
      const bosId = bos === null ? undefined : p.tokenToId(bos);
      const eosId = eos === null ? undefined : p.tokenToId(eos);
      if (this.config.addBosToken === true && bosId !== undefined) {
        out.ids.unshift(bosId);
        out.tokens.unshift(bos as string);
        out.offsets.unshift([0, 0]);
      }
      if (this.config.addEosToken === true && eosId !== undefined) {
        out.ids.push(eosId);
        out.tokens.push(eos as string);
        out.offsets.push([0, 0]);
      }
    }
    return out;
  }

  decode(
    ids: readonly number[],
    options: { skipSpecialTokens?: boolean; side?: MarianSide } = {},
  ): string {
    if (this.marian !== null) return this.marian.decode(ids, options);
    const text = (this.pipeline as PretrainedTokenizer).decode(ids, options);
    return this.config?.cleanUpTokenizationSpaces ? cleanUpTokenization(text) : text;
  }

  /** The conversation rendered with the model's chat template (tokenizer_config.json). */
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    if (this.config === null) {
      throw new MaskwiseError("this tokenizer has no tokenizer_config.json, so no chat template", {
        code: "E_TOKENIZER",
        where: "tokenizer_config.json",
        hint: "give the model directory that holds tokenizer_config.json",
      });
    }
    return applyChatTemplate(this.config, messages, options);
  }
}
