// Text in, text out: tokenize source lines, decode them in batches (greedy or beam), detokenize.
// Source convention (the same in training): the tokenizer's ids followed by eos.
import { beamSearch } from "../decode/beam.js";
import { type GenerationSettings, generationOptions } from "../decode/generation-config.js";
import { greedy } from "../decode/greedy.js";
import type { Hypothesis, SentenceFeed } from "../decode/types.js";
import type { ModelConfig } from "../models/config.js";
import { holdLinearWeights } from "../models/held-weights.js";
import {
  type EncodedSources,
  type Seq2SeqDecodable,
  Seq2SeqIncremental,
} from "../models/incremental.js";
import type { DecodingWeights } from "../nn/decoding-weights.js";
import { Tensor } from "../tensor/tensor.js";

/** What translation needs of a tokenizer. */
export interface TextCodec {
  encode(text: string): number[];
  /**
   * A target text's ids where they differ from a source's (Marian's target.spm); training's
   * labels use it when given.
   */
  encodeTarget?(text: string): number[];
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
}

export interface TranslateOptions {
  beam?: number;
  lengthPenalty?: number;
  /** Maximum output length = maxLenA * source length + maxLenB (fairseq). */
  maxLenA?: number;
  maxLenB?: number;
  /** Sentences decoded together. */
  batchSize?: number;
  nBest?: number;
  noRepeatNgramSize?: number;
  /** Source tokens beyond this are cut (the model never saw longer inputs). */
  maxSourceLength?: number;
  /** Decode on these bfloat16 or int8 copies of the decoder's weights (src/nn/decoding-weights.ts). */
  weights?: DecodingWeights;
  /**
   * The model's generation_config.json: start and end ids, forced first and last tokens, banned
   * sequences (the options above set the rest).
   */
  generation?: GenerationSettings;
}

/** Translates lines; returns the n-best hypotheses per line (text, tokens, score), best first. */
export function translateLines(
  model: Seq2SeqDecodable & { readonly config: ModelConfig },
  codec: TextCodec,
  lines: readonly string[],
  options: TranslateOptions = {},
): { text: string; hypothesis: Hypothesis }[][] {
  const cfg = model.config;
  const maxSrc = options.maxSourceLength ?? 1024;
  const encoded = lines.map((l) => [...codec.encode(l).slice(0, maxSrc - 1), cfg.eos_token_id]);
  // Decode sentences of similar length together (less padding), then restore the input order.
  const order = encoded.map((_, i) => i).sort((a, b) => encoded[a].length - encoded[b].length);
  const results: { text: string; hypothesis: Hypothesis }[][] = new Array(lines.length);
  // Every batch multiplies by the same weights: packed once for all of them (a caller that holds
  // them already, across calls, keeps its hold). One batch of a few rows, whose decoding steps
  // stream the weights unpacked, would pack the decoder and head for nothing.
  const batchSize = options.batchSize ?? 32;
  const stepRows = Math.min(batchSize, lines.length) * (options.beam ?? 1);
  const release = lines.length > batchSize || stepRows > 8 ? holdLinearWeights(model) : () => {};
  try {
    translateBatches(model, codec, encoded, order, results, options);
  } finally {
    release();
  }
  return results;
}

/**
 * Sources of token ids as an encoder's batch: ids [N, S] right-padded with `pad`, mask [N, S]
 * (1 = real), S the longest source.
 */
export function sourceBatch(
  sources: readonly (readonly number[])[],
  pad: number,
): [Tensor, Tensor] {
  const S = Math.max(...sources.map((x) => x.length));
  const ids = new Int32Array(sources.length * S).fill(pad);
  const mask = new Int32Array(sources.length * S);
  sources.forEach((x, r) => {
    ids.set(x, r * S);
    mask.fill(1, r * S, r * S + x.length);
  });
  return [new Tensor(ids, [sources.length, S]), new Tensor(mask, [sources.length, S])];
}

/**
 * Decodes the sentences in `order` into `results` by input index, batchSize at a time: greedily,
 * sentences join the running batch as others finish (continuous batching: the steps stay about
 * batchSize sentences wide instead of thinning out at the end of every batch); beam search, and
 * a model whose step puts all rows at one position (T5), batch after batch. A sentence's length
 * limit is maxLenA times its own source length (eos included) plus maxLenB, whatever its batch.
 */
function translateBatches(
  model: Seq2SeqDecodable & { readonly config: ModelConfig },
  codec: TextCodec,
  encoded: readonly number[][],
  order: readonly number[],
  results: { text: string; hypothesis: Hypothesis }[][],
  options: TranslateOptions,
): void {
  const cfg = model.config;
  const batchSize = options.batchSize ?? 32;
  const beam = options.beam ?? 1;
  const limit = (i: number) =>
    Math.round((options.maxLenA ?? 1.2) * encoded[i].length + (options.maxLenB ?? 10));
  // One step and its buffers for every batch (each batch's decoder is done before the next).
  const step = model.decodingStep(options.weights ?? null);
  const gen = {
    ...generationOptions(
      options.generation ?? {},
      { startToken: cfg.decoder_start_token_id, eosToken: cfg.eos_token_id },
      0, // unread: the feed gives every sentence its own limit
    ),
    noRepeatNgramSize: options.noRepeatNgramSize,
  };
  let next = 0; // sentences of `order` taken so far
  for (let s = 0; s < order.length; s = next) {
    // The decoder's sentences in the order they joined (the feed's numbering): input indices.
    const taken = order.slice(s, s + batchSize);
    next = s + taken.length;
    const decoder = new Seq2SeqIncremental(
      model,
      ...sourceBatch(
        taken.map((i) => encoded[i]),
        cfg.pad_token_id,
      ),
      { weights: options.weights, step },
    );
    // Greedy steps at a full batch's width cost less per row than at the few rows a batch's end
    // leaves; beam search's batches are beam times wider, where the width gains nothing per row
    // and the longer cache spans of sentences that started apart cost more (measured on a
    // Multi30k model: greedy 7% faster, beam 5 8% slower): beam search goes batch by batch.
    const joins = decoder.admits && beam === 1;
    // The next sentences to join, encoded batchSize at a time (the encoder at full width) and
    // admitted as rows finish.
    let staged: { sources: EncodedSources; sentences: number[]; next: number } | null = null;
    const feed: SentenceFeed = {
      rows: batchSize,
      maxLength: (k) => limit(taken[k]),
      admit: (room) => {
        let joined = 0;
        while (joins && joined < room) {
          if (!staged || staged.next === staged.sentences.length) {
            if (next >= order.length) break;
            const sentences = order.slice(next, next + batchSize);
            next += sentences.length;
            const sources = decoder.encodeSources(
              ...sourceBatch(
                sentences.map((i) => encoded[i]),
                cfg.pad_token_id,
              ),
            );
            staged = { sources, sentences, next: 0 };
          }
          const count = Math.min(room - joined, staged.sentences.length - staged.next);
          decoder.admitEncoded(staged.sources, staged.next, count);
          taken.push(...staged.sentences.slice(staged.next, staged.next + count));
          staged.next += count;
          joined += count;
          if (staged.next === staged.sentences.length) decoder.releaseSources(staged.sources);
        }
        return joined;
      },
    };
    let hyps: Hypothesis[][];
    try {
      hyps =
        beam > 1
          ? beamSearch(
              decoder,
              {
                ...gen,
                beamSize: beam,
                lengthPenalty: options.lengthPenalty ?? 1,
                nBest: options.nBest ?? 1,
              },
              feed,
            )
          : greedy(decoder, gen, feed).map((h) => [h]);
    } finally {
      // The next batch's caches take this one's storage.
      decoder.release();
    }
    taken.forEach((i, k) => {
      results[i] = hyps[k].map((h) => ({
        text: codec.decode(
          h.tokens.filter((t) => t !== gen.eosToken),
          { skipSpecialTokens: true },
        ),
        hypothesis: h,
      }));
    });
  }
}

/** What translation needs of a pretrained model's tokenizer (src/tokenizer/model-tokenizer.ts). */
export interface PretrainedTextTokenizer {
  encode(
    text: string,
    options: { addSpecialTokens?: boolean; side?: "source" | "target" },
  ): { ids: number[] };
  decode(
    ids: readonly number[],
    options: { skipSpecialTokens?: boolean; side?: "source" | "target" },
  ): string;
}

/**
 * A pretrained model's tokenizer as translation's codec: the source through the source side
 * (Marian's source.spm) with the model's own special tokens (BART's <s>), less the final eos,
 * which `translateLines` and training's `seq2seq` append; targets (training's labels, as
 * transformers' `tokenizer(text_target=…)`) through the target side (target.spm), less the
 * final eos likewise; outputs decoded through the target side.
 */
export function pretrainedCodec(tok: PretrainedTextTokenizer, eos: number): TextCodec {
  const withoutEos = (ids: number[]) =>
    ids.length > 0 && ids[ids.length - 1] === eos ? ids.slice(0, -1) : ids;
  return {
    encode: (text) => withoutEos(tok.encode(text, { addSpecialTokens: true, side: "source" }).ids),
    encodeTarget: (text) =>
      withoutEos(tok.encode(text, { addSpecialTokens: true, side: "target" }).ids),
    decode: (ids, options) =>
      tok.decode(ids, { skipSpecialTokens: options?.skipSpecialTokens, side: "target" }),
  };
}
