// Continuations of prompts by a decoder-only model: greedy ones for evaluation during training
// (ROUGE of a conditional LM), and the decoder `maskwise generate` runs greedy, beam or sampling
// on. Prompts are left-padded, so every row's last prompt token sits in the last column. A causal
// LM decodes on DecoderOnlyIncremental; a prefix LM must read its prompt bidirectionally, as it
// was trained to, so its first pass runs under causal | prefix(P) and the steps after it are
// causal (every later query sees the whole prompt anyway).
import { greedy } from "../decode/greedy.js";
import type { IncrementalDecoder } from "../decode/types.js";
import type { DecoderLayerCache } from "../models/blocks.js";
import {
  type DecoderOnlyDecodable,
  DecoderOnlyIncremental,
  newCaches,
} from "../models/incremental.js";
import { appendRealColumn } from "../models/inputs.js";
import type { DecodingWeights } from "../nn/decoding-weights.js";
import { noGrad } from "../tensor/autograd.js";
import { Tensor } from "../tensor/tensor.js";
import type { DecoderMask } from "./tasks.js";
import type { TextCodec } from "./translate.js";

/** A prefix LM as an incremental decoder: the prompt [N, P] is one bidirectional prefix. */
class PrefixLMIncremental {
  readonly vocabSize: number;
  private mask: Tensor;
  private readonly caches: DecoderLayerCache[];
  private pending: Float32Array | null;

  constructor(
    private readonly model: DecoderOnlyDecodable,
    promptIds: Tensor,
    promptMask: Tensor,
  ) {
    const V = model.config.vocab_size;
    this.vocabSize = V;
    this.mask = promptMask;
    this.caches = newCaches(model.cachedLayers);
    const [N, P] = promptIds.shape;
    const prefix = new Array<number>(N).fill(P);
    const logits = this.run(promptIds, prefix);
    this.pending = new Float32Array(N * V);
    for (let r = 0; r < N; r++)
      this.pending.set(logits.subarray((r * P + P - 1) * V, (r * P + P) * V), r * V);
  }

  private run(ids: Tensor, prefix?: number[]): Float32Array {
    return noGrad(() => this.model.logitsOnCaches(ids, this.mask, this.caches, prefix).f32);
  }

  get rows(): number {
    return this.mask.shape[0];
  }

  next(tokens: Int32Array): Float32Array {
    if (this.pending) {
      const out = this.pending;
      this.pending = null;
      return out;
    }
    const N = this.mask.shape[0];
    this.mask = appendRealColumn(this.mask);
    return this.run(new Tensor(Int32Array.from(tokens), [N, 1]));
  }

  reorder(keep: readonly number[]): void {
    for (const c of this.caches) c.self.reorder(keep);
    const [, T] = this.mask.shape;
    const out = new Int32Array(keep.length * T);
    keep.forEach((r, i) => {
      out.set(this.mask.i32.subarray(r * T, (r + 1) * T), i * T);
    });
    this.mask = new Tensor(out, [keep.length, T]);
  }
}

/**
 * The incremental decoder of `prompts` (token ids, each with at least one token), left-padded
 * into one batch [N, P]: bidirectional over each prompt for a prefix LM, causal otherwise. With
 * `weights`, a causal LM's steps multiply by those bfloat16 or int8 copies of the weights (a prefix LM runs
 * every pass on tensors, whose precision is the caller's withMatmulPrecision).
 */
export function promptDecoder(
  model: DecoderOnlyDecodable,
  prompts: readonly (readonly number[])[],
  mask: DecoderMask,
  options: { weights?: DecodingWeights } = {},
): IncrementalDecoder {
  const P = Math.max(...prompts.map((p) => p.length));
  const ids = new Int32Array(prompts.length * P).fill(model.config.pad_token_id);
  const attention = new Int32Array(prompts.length * P);
  prompts.forEach((p, r) => {
    ids.set(p, r * P + P - p.length);
    attention.fill(1, r * P + P - p.length, (r + 1) * P);
  });
  const idsT = new Tensor(ids, [prompts.length, P]);
  const maskT = new Tensor(attention, [prompts.length, P]);
  return mask === "prefix"
    ? new PrefixLMIncremental(model, idsT, maskT)
    : new DecoderOnlyIncremental(model, idsT, maskT, options);
}

/**
 * The mask a decoder-only model directory's prompts are read under, from its trainer_state.json
 * (null when it has none): "prefix" for a model trained as a prefix LM on source/target pairs
 * (options.mask "prefix" with a target field, which every task but plain-text lm has), "causal"
 * otherwise (causal LMs, plain-text lm runs, clm pretraining, files from elsewhere).
 */
export function trainedMask(trainerState: unknown): DecoderMask {
  const options = (trainerState as { options?: Record<string, unknown> } | null)?.options;
  return options?.mask === "prefix" && trainedOnPairs(trainerState) ? "prefix" : "causal";
}

/**
 * Whether a decoder-only model directory was trained on source/target pairs, as
 * "<s> source </s> target </s>": its prompts then end with </s> whatever the mask.
 */
export function trainedOnPairs(trainerState: unknown): boolean {
  const options = (trainerState as { options?: Record<string, unknown> } | null)?.options;
  const data = options?.data as Record<string, unknown> | undefined;
  return data !== undefined && (data.task !== "lm" || data.targetField !== undefined);
}

export interface ContinueOptions {
  mask?: DecoderMask;
  /** Tokens generated at most per prompt. */
  maxNewTokens?: number;
  batchSize?: number;
  /** No n-gram of this many generated tokens twice in a continuation (0 = off). */
  noRepeatNgramSize?: number;
}

/** Greedy continuations (text) of prompts given as token ids (each with at least one token). */
export function continuePrompts(
  model: DecoderOnlyDecodable,
  codec: Pick<TextCodec, "decode">,
  prompts: readonly (readonly number[])[],
  options: ContinueOptions = {},
): string[] {
  const cfg = model.config;
  const batchSize = options.batchSize ?? 16;
  const out: string[] = [];
  for (let s = 0; s < prompts.length; s += batchSize) {
    const rows = prompts.slice(s, s + batchSize);
    const decoder = promptDecoder(model, rows, options.mask ?? "prefix");
    const hyps = greedy(decoder, {
      startToken: cfg.bos_token_id,
      eosToken: cfg.eos_token_id,
      maxLength: options.maxNewTokens ?? 64,
      noRepeatNgramSize: options.noRepeatNgramSize,
    });
    for (const h of hyps)
      out.push(
        codec.decode(
          h.tokens.filter((t) => t !== cfg.eos_token_id),
          { skipSpecialTokens: true },
        ),
      );
  }
  return out;
}
