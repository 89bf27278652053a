// The encoder and decoder stacks: token embeddings (scaled by sqrt(d_model) when configured),
// positions derived from the attention mask, the layers, and the final layer norm of pre-norm
// models. Masks are built here, once per forward pass, from the Hugging Face 2D masks:
//   encoder self-attention:  source key padding
//   decoder self-attention:  causal (offset = cached length) AND decoder key padding
//   cross-attention:         source key padding
import {
  type AttendMask,
  and,
  causal,
  documents,
  keyPaddingFromAttentionMask,
  prefixLM,
} from "../attention/masks.js";
import type { MaskSource } from "../attention/multi-head.js";
import type { Unpadded } from "../attention/unpadded.js";
import type { DecodingWeights } from "../nn/decoding-weights.js";
import { Embedding, LayerNorm } from "../nn/layers.js";
import { Module, ModuleList } from "../nn/module.js";
import { positionsFromMask } from "../nn/positions.js";
import { isGradEnabled } from "../tensor/autograd.js";
import { withScratch } from "../tensor/pool.js";
import type { Tensor } from "../tensor/tensor.js";
import { MaskwiseError } from "../util/errors.js";
import type { Rng } from "../util/rng.js";
import { DecoderLayer, type DecoderLayerCache, EncoderLayer, type Noise } from "./blocks.js";
import type { ModelConfig } from "./config.js";
import { StackInput } from "./embed.js";
import { documentRows, inputPositions } from "./inputs.js";
import type { StepMasks, StepView } from "./step-buffers.js";

/** What an encoder pass may take beyond ids and mask. */
export interface EncoderForwardOptions {
  /** Dropout randomness (training). */
  noise?: Noise;
  /** Entry i receives layer i's self-attention weights [B, H, S, S] (for inspection). */
  weights?: { self?: Tensor }[];
  /** Compute only these positions: memory [N, D] holds their rows (src/attention/unpadded.ts). */
  rows?: Unpadded | null;
  /** Token types [B, S] (BERT's segments); default: type 0 everywhere. */
  tokenTypes?: Tensor;
}

/** What a decoder pass may take beyond ids and mask. */
export interface DecoderForwardOptions {
  /** The encoder's output [B, S, D]; absent in a decoder-only model. */
  memory?: Tensor | null;
  /** The source's Hugging Face mask [B, S] (1 = real), with `memory`. */
  sourceMask?: Tensor | null;
  /** Dropout randomness (training). */
  noise?: Noise;
  /** One per layer: the KV caches of incremental decoding (ids then hold the new positions). */
  caches?: DecoderLayerCache[];
  /** Entry i receives layer i's self- and cross-attention weights (for inspection). */
  weights?: { self?: Tensor; cross?: Tensor }[];
  /**
   * One per row: keys before the row's prefix length are seen by every query (a prefix LM);
   * the rest stay causal.
   */
  prefixLengths?: readonly number[];
  /** Compute only these positions (no caches): hidden [N, D] holds their rows. */
  rows?: Unpadded | null;
  /** The kept rows of `memory` [Ns, D] when the encoder ran on kept rows. */
  memoryRows?: Unpadded | null;
  /**
   * Position of each new token [B, Tnew] (packed rows restart at 0 with each document); default:
   * counted over the real tokens of `attentionMask`.
   */
  positionIds?: Tensor;
  /**
   * The packed document of every position so far [B, Tpast + Tnew]: a query sees only keys of its
   * own document (and with the rest of the mask, only earlier ones).
   */
  documentIds?: Tensor;
}

/**
 * What the encoder and the decoder share: the input (embed_tokens, embed_positions when learned,
 * layernorm_embedding when configured) registered first, the layers, and the final layer norm of
 * pre-norm models registered last, so the tensor names come in the checkpoint's order.
 */
abstract class Stack<L extends Module> extends Module {
  readonly embed_tokens: Embedding;
  readonly embed_positions: Embedding | null;
  /** Token-type (segment) embeddings: the encoder's, when the config has token types. */
  readonly token_type_embeddings: Embedding | null;
  readonly layernorm_embedding: LayerNorm | null;
  readonly layers: ModuleList<L>;
  readonly layer_norm: LayerNorm | null;
  /** Token embedding plus positions (the tensors above). */
  readonly input: StackInput;

  constructor(
    readonly cfg: ModelConfig,
    rng: Rng,
    sharedTokens: Embedding | null,
    withTokenTypes: boolean,
    makeLayers: () => L[],
  ) {
    super();
    const init = { rng, std: cfg.init_std };
    this.embed_tokens =
      sharedTokens ?? new Embedding(cfg.vocab_size, cfg.d_model, init, cfg.pad_token_id);
    this.child("embed_tokens", this.embed_tokens);
    // A learned table has position_offset rows before position 0 (BART keeps two).
    this.embed_positions =
      cfg.position_embedding === "learned"
        ? this.child(
            "embed_positions",
            new Embedding(cfg.max_position_embeddings + cfg.position_offset, cfg.d_model, init),
          )
        : null;
    this.token_type_embeddings =
      withTokenTypes && cfg.type_vocab_size > 0
        ? this.child("token_type_embeddings", new Embedding(cfg.type_vocab_size, cfg.d_model, init))
        : null;
    this.layernorm_embedding = cfg.layernorm_embedding
      ? this.child("layernorm_embedding", new LayerNorm(cfg.d_model, cfg.layer_norm_eps))
      : null;
    this.input = new StackInput(
      cfg,
      this.embed_tokens,
      this.embed_positions,
      this.token_type_embeddings,
      this.layernorm_embedding,
    );
    this.layers = this.child("layers", new ModuleList(makeLayers()));
    this.layer_norm = cfg.normalize_before
      ? this.child("layer_norm", new LayerNorm(cfg.d_model, cfg.layer_norm_eps))
      : null;
  }
}

export class Encoder extends Stack<EncoderLayer> {
  constructor(cfg: ModelConfig, rng: Rng, sharedTokens: Embedding | null = null) {
    const sizes = { heads: cfg.encoder_attention_heads, ffn: cfg.encoder_ffn_dim };
    super(cfg, rng, sharedTokens, true, () =>
      Array.from({ length: cfg.encoder_layers }, () => new EncoderLayer(cfg, sizes, rng)),
    );
  }

  /** ids [B, S], attentionMask [B, S] (1 = real) -> memory [B, S, D] (or [N, D] with `rows`). */
  forward(ids: Tensor, attentionMask: Tensor, options: EncoderForwardOptions = {}): Tensor {
    const { noise, weights, rows, tokenTypes } = options;
    const mask = keyPaddingFromAttentionMask(attentionMask);
    const positions = positionsFromMask(attentionMask);
    const pick = (t: Tensor) => (rows ? rows.pick(t) : t);
    let x = this.input.forward(
      pick(ids),
      pick(positions),
      this.training,
      noise,
      tokenTypes ? pick(tokenTypes) : undefined,
    );
    this.layers.items.forEach((layer, i) => {
      let w: { self?: Tensor } | undefined;
      if (weights) {
        w = {};
        weights[i] = w;
      }
      const input = x;
      const run = () => layer.forward(input, mask, { noise, weights: w, rows });
      // Without a tape nothing reads a layer's intermediate values once it has returned: they go
      // back to the buffer pool layer by layer (the next layer takes the same buffers), so a batch
      // of sources touches one layer's worth of memory instead of every layer's. Translation's
      // batches grow longer one after another, and each larger size would otherwise take fresh
      // memory (a page fault per 4 KiB) for all layers at once.
      x = isGradEnabled() || w ? run() : withScratch(run, (y) => [y.f32]);
    });
    return this.layer_norm ? this.layer_norm.forward(x) : x;
  }
}

export class Decoder extends Stack<DecoderLayer> {
  constructor(
    cfg: ModelConfig,
    rng: Rng,
    sharedTokens: Embedding | null,
    withCrossAttention: boolean,
  ) {
    const sizes = { heads: cfg.decoder_attention_heads, ffn: cfg.decoder_ffn_dim };
    super(cfg, rng, sharedTokens, false, () =>
      Array.from(
        { length: cfg.decoder_layers },
        () => new DecoderLayer(cfg, sizes, rng, withCrossAttention),
      ),
    );
  }

  /**
   * ids [B, Tnew] -> hidden [B, Tnew, D]. `attentionMask` [B, Tpast + Tnew] covers every position
   * so far (with caches, the past ones too): it gives the positions and the key padding.
   */
  forward(ids: Tensor, attentionMask: Tensor, options: DecoderForwardOptions = {}): Tensor {
    const { noise, caches, weights, prefixLengths, rows, memoryRows, positionIds, documentIds } =
      options;
    const memory = options.memory ?? null;
    const sourceMask = options.sourceMask ?? null;
    const Tnew = ids.shape[1];
    const Tall = attentionMask.shape[1];
    if (rows && (caches || Tnew !== Tall)) {
      throw new MaskwiseError("a decoder on kept rows only computes every position, uncached", {
        code: "E_ARG",
        where: "Decoder.forward",
      });
    }
    const keyPad = keyPaddingFromAttentionMask(attentionMask);
    const docs = documentIds ? documentRows(documentIds, attentionMask) : null;
    // One mask object per past length for all layers: the attention caches a mask's grid and
    // block map (and the unpadded layout its kept-queries mask) per object, so a new object per
    // layer would rebuild them in every layer.
    const selfMasks = new Map<number, AttendMask>();
    const selfMask: MaskSource = (past) => {
      let mask = selfMasks.get(past);
      if (!mask) {
        const order = prefixLengths ? prefixLM(prefixLengths, past) : causal(past);
        mask = docs ? and(order, documents(docs, past), keyPad) : and(order, keyPad);
        selfMasks.set(past, mask);
      }
      return mask;
    };
    const crossMask = sourceMask ? keyPaddingFromAttentionMask(sourceMask) : null;
    const positions = inputPositions(ids, attentionMask, positionIds);
    let y = this.input.forward(
      rows ? rows.pick(ids) : ids,
      rows ? rows.pick(positions) : positions,
      this.training,
      noise,
    );
    this.layers.items.forEach((layer, i) => {
      let w: { self?: Tensor; cross?: Tensor } | undefined;
      if (weights) {
        w = {};
        weights[i] = w;
      }
      y = layer.forward(y, selfMask, {
        memory,
        crossMask,
        noise,
        cache: caches?.[i],
        weights: w,
        rows,
        memoryRows,
      });
    });
    return this.layer_norm ? this.layer_norm.forward(y) : y;
  }

  /**
   * One decoding step on flat arrays: tokens [R] at positions [R] (each row's index among its
   * real tokens) -> the final hidden states [R, D], a view of the step's buffers; each layer's
   * self cache gains one position per row. What `forward` computes with caches for one new token
   * per row, without tensors, tape or dropout (tests check it against recomputation).
   */
  step(
    tokens: Int32Array,
    positions: Int32Array,
    caches: readonly DecoderLayerCache[],
    masks: StepMasks,
    view: StepView,
    copies: DecodingWeights | null = null,
  ): Float32Array {
    this.input.into(tokens, positions, view.x, view);
    this.layers.items.forEach((layer, i) => {
      layer.step(view, caches[i], masks, copies);
    });
    return this.layer_norm ? this.layer_norm.into(view.x, view.h, view.R, view) : view.x;
  }
}
