// A T5 stack (T5Stack): the shared token embedding (no scaling, no position embedding), the
// blocks, a final layer norm, dropout after the embedding and after the final norm. Positions
// enter only as the self-attention bias, computed once per pass from block 0's bucket table and
// reused by every block: bidirectional buckets in the encoder, causal ones in the decoder.
//   encoder self-attention:  source key padding                 + bias [H, S, S]
//   decoder self-attention:  causal AND decoder key padding      + bias [H, T, T]
//   cross-attention:         source key padding, no bias
import { and, causal, keyPaddingFromAttentionMask } from "../../../attention/masks.js";
import { t5BucketIndex, t5PositionBias } from "../../../attention/position-bias.js";
import type { Unpadded } from "../../../attention/unpadded.js";
import type { Embedding } from "../../../nn/layers.js";
import { Module, ModuleList } from "../../../nn/module.js";
import { RMSNorm } from "../../../nn/rms-norm.js";
import { dropout } from "../../../tensor/ops/nn.js";
import type { Tensor } from "../../../tensor/tensor.js";
import type { Rng } from "../../../util/rng.js";
import { T5Block } from "./block.js";
import type { T5Config } from "./config.js";

export interface T5StackCall {
  /** Dropout randomness (training). */
  rng?: Rng;
  /** Compute only these positions: x [N, D] holds their rows (src/attention/unpadded.ts). */
  rows?: Unpadded | null;
  /** Decoder: the encoder output [B, S, D] (or its kept rows) and the source mask [B, S]. */
  memory?: Tensor | null;
  sourceMask?: Tensor | null;
  memoryRows?: Unpadded | null;
}

export class T5Stack extends Module {
  readonly embed_tokens: Embedding;
  readonly block: ModuleList<T5Block>;
  readonly final_layer_norm: RMSNorm;

  constructor(
    readonly cfg: T5Config,
    shared: Embedding,
    rng: Rng,
    readonly isDecoder: boolean,
  ) {
    super();
    const init = { rng, std: cfg.init_std };
    this.embed_tokens = this.child("embed_tokens", shared);
    const n = isDecoder ? cfg.decoder_layers : cfg.encoder_layers;
    this.block = this.child(
      "block",
      new ModuleList(
        Array.from({ length: n }, (_, i) => new T5Block(cfg, init, i === 0, isDecoder)),
      ),
    );
    this.final_layer_norm = this.child(
      "final_layer_norm",
      new RMSNorm(cfg.d_model, cfg.layer_norm_eps),
    );
  }

  /** The bucket table [buckets, H] of block 0 (every stack has one), widened if held in bfloat16. */
  get biasTable(): Tensor {
    const table = this.block.items[0]?.self.SelfAttention.relative_attention_bias;
    if (!table) throw new Error("a T5 stack without blocks has no position bias");
    return table.floatTable();
  }

  /** The bucketing of this stack's self-attention. */
  get buckets(): { bidirectional: boolean; numBuckets: number; maxDistance: number } {
    return {
      bidirectional: !this.isDecoder,
      numBuckets: this.cfg.relative_attention_num_buckets,
      maxDistance: this.cfg.relative_attention_max_distance,
    };
  }

  /**
   * ids [B, T], attentionMask [B, T] (1 = real) -> hidden [B, T, D] (or [N, D] with `rows`),
   * after the final layer norm.
   */
  forward(ids: Tensor, attentionMask: Tensor, call: T5StackCall = {}): Tensor {
    const { rng, rows } = call;
    const T = ids.shape[1];
    const keyPad = keyPaddingFromAttentionMask(attentionMask);
    const mask = this.isDecoder ? and(causal(0), keyPad) : keyPad;
    const crossMask = call.sourceMask ? keyPaddingFromAttentionMask(call.sourceMask) : null;
    const drop = (t: Tensor) => (rng && this.training ? dropout(t, this.cfg.dropout, rng) : t);
    let x = drop(this.embed_tokens.forward(rows ? rows.pick(ids) : ids));
    if (this.block.items.length === 0) return drop(this.final_layer_norm.forward(x));
    // [H, T, T]: one gather of the bucket table, on the tape, shared by the batch and the blocks.
    const bias = t5PositionBias(this.biasTable, t5BucketIndex(T, T, this.buckets));
    for (const block of this.block.items) {
      x = block.forward(x, {
        mask,
        bias,
        memory: call.memory,
        crossMask,
        rng,
        rows,
        memoryRows: call.memoryRows,
      });
    }
    return drop(this.final_layer_norm.forward(x));
  }
}
