// A conversation with a decoder-only chat model: each turn renders the whole conversation with
// the chat template and its generation prompt, tokenizes it as one text (as training did, see
// objectives/chat.ts), and generates the reply a token at a time, streaming its text.
//
// The KV cache is kept across turns: the tokens of the new rendering are compared with the
// tokens the cache holds (the last prompt and the reply fed so far), the cache is cut back to
// their common prefix and only the rest is computed. Usually that is the end of the last reply
// and the new user turn; where the template or the tokenizer renders the history differently
// (a reply re-tokenized into other pieces), the cache is cut where they part, so the result is
// always what a fresh computation of the whole rendering gives.
//
// `--precision` reaches both paths: the prompt's pass on tensors runs its products in the given
// matmul precision, and the steps multiply by the given low-precision copies of the weights
// (bfloat16 or int8), as `generate` decodes.

import { argmax } from "../decode/greedy.js";
import { logSoftmaxRows, processLogProbs } from "../decode/processors.js";
import { sampleToken } from "../decode/sampling.js";
import { type DecoderOnlyDecodable, DecoderOnlyIncremental } from "../models/incremental.js";
import type { DecodingWeights } from "../nn/decoding-weights.js";
import { type MatmulPrecision, withMatmulPrecision } from "../tensor/precision.js";
import { Tensor } from "../tensor/tensor.js";
import type { ModelTokenizer } from "../tokenizer/model-tokenizer.js";
import { TextStream } from "../tokenizer/text-stream.js";
import type { ChatMessage } from "../tokenizer/tokenizer-config.js";
import { MaskwiseError } from "../util/errors.js";
import { Rng } from "../util/rng.js";

export interface ChatOptions {
  /** Tokens of a reply at most (the end-of-turn token not counted). */
  maxNewTokens: number;
  /** 0: greedy; above 0: sampling at this temperature. */
  temperature: number;
  /** Sampling: the k most likely tokens only (0 = all). */
  topK: number;
  /** Sampling: the smallest set of most likely tokens reaching this probability (1 = all). */
  topP: number;
  /** > 1 discourages tokens the reply already holds (as transformers' repetition_penalty). */
  repetitionPenalty: number;
  /** Seeds the sampling of the whole conversation. */
  seed: number;
}

/** The precision a conversation computes in; absent fields: float32. */
export interface ChatPrecision {
  /** The products of the passes on tensors (each turn's new prompt tokens). */
  matmul?: MatmulPrecision;
  /** Copies of the weights the decoding steps multiply by (src/models/incremental.ts). */
  weights?: DecodingWeights;
}

/** The tokens of the last turn: taken from the cache, and computed anew (prompt and reply). */
export interface TurnStats {
  reused: number;
  computed: number;
}

export class ChatSession {
  readonly messages: ChatMessage[];
  lastTurn: TurnStats = { reused: 0, computed: 0 };
  private decoder: DecoderOnlyIncremental | null = null;
  /** The tokens the decoder's caches hold. */
  private cached: number[] = [];
  private readonly rng: Rng;
  private readonly stops: Set<number>;

  constructor(
    private readonly model: DecoderOnlyDecodable,
    private readonly tok: ModelTokenizer,
    private readonly options: ChatOptions,
    messages: readonly ChatMessage[] = [],
    private readonly precision: ChatPrecision = {},
  ) {
    this.messages = [...messages];
    this.rng = new Rng(options.seed);
    // A turn ends with the template's end-of-turn token (tokenizer_config.json's eos_token) or
    // the model's eos, whichever comes.
    const eos = tok.config?.eosToken;
    const templateEos = eos ? tok.tokenToId(eos) : undefined;
    this.stops = new Set([model.config.eos_token_id, templateEos ?? model.config.eos_token_id]);
  }

  /** Adds the user's message and returns the reply (also added), its text streamed to `onText`. */
  say(text: string, onText?: (piece: string) => void): string {
    this.messages.push({ role: "user", content: text });
    return this.reply(onText);
  }

  /** The assistant's reply to the conversation so far, added to it. */
  reply(onText?: (piece: string) => void): string {
    return withMatmulPrecision(this.precision.matmul ?? "float32", () => this.replyNow(onText));
  }

  private replyNow(onText?: (piece: string) => void): string {
    const prompt = this.tok.applyChatTemplate(this.messages, { addGenerationPrompt: true });
    const ids = this.tok.encode(prompt, { addSpecialTokens: false }).ids;
    const maxPositions = this.model.config.max_position_embeddings;
    if (ids.length >= maxPositions) {
      throw new MaskwiseError(
        `the conversation is ${ids.length} tokens long, the model reads ${maxPositions} at most`,
        {
          code: "E_INPUT",
          where: "chat",
          hint: "start a new conversation",
        },
      );
    }
    const decoder = this.prefill(ids);
    const { options, model } = this;
    const V = model.config.vocab_size;
    const maxNew = Math.min(options.maxNewTokens, maxPositions - ids.length);
    const [firstStop] = this.stops;
    const settings = {
      startToken: firstStop,
      eosToken: firstStop,
      maxLength: maxNew,
      repetitionPenalty: options.repetitionPenalty,
    };
    const stream = new TextStream((t) => this.tok.decode(t, { skipSpecialTokens: true }));
    const reply: number[] = [];
    let logits = decoder.next(Int32Array.of(firstStop));
    for (let step = 0; step < maxNew; step++) {
      logSoftmaxRows(logits, 1, V);
      processLogProbs(logits, V, [reply], step, settings);
      const t =
        options.temperature > 0
          ? sampleToken(logits, this.rng, options.temperature, options.topK, options.topP)
          : argmax(logits);
      if (this.stops.has(t)) break;
      reply.push(t);
      const piece = stream.push(t);
      if (piece && onText) onText(piece);
      if (step + 1 < maxNew) {
        logits = decoder.next(Int32Array.of(t));
        this.cached.push(t);
      }
    }
    const tail = stream.flush();
    if (tail && onText) onText(tail);
    this.lastTurn.computed += reply.length;
    const text = this.tok.decode(reply, { skipSpecialTokens: true });
    this.messages.push({ role: "assistant", content: text });
    return text;
  }

  /** A decoder whose caches hold `ids` (what they share with the cache kept, the rest computed). */
  private prefill(ids: readonly number[]): DecoderOnlyIncremental {
    let common = 0;
    while (
      common < this.cached.length &&
      common < ids.length &&
      this.cached[common] === ids[common]
    )
      common++;
    // At least the last prompt token is fed: its logits choose the reply's first token.
    common = Math.min(common, ids.length - 1);
    if (this.decoder === null || common === 0) {
      const P = ids.length;
      this.decoder = new DecoderOnlyIncremental(
        this.model,
        new Tensor(Int32Array.from(ids), [1, P]),
        new Tensor(new Int32Array(P).fill(1), [1, P]),
        { weights: this.precision.weights },
      );
      this.lastTurn = { reused: 0, computed: P };
    } else {
      if (common < this.decoder.length) this.decoder.truncate(common);
      this.decoder.extend([ids.slice(common)]);
      this.lastTurn = { reused: common, computed: ids.length - common };
    }
    this.cached = [...ids];
    return this.decoder;
  }
}
