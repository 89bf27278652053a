// T5's attention (T5Attention): the shared multi-head attention with T5's layout (q, k, v, o
// without biases, H heads of d_kv, scores not scaled), and, in the first block of each stack only,
// the relative-position bias table `relative_attention_bias` [buckets, H] that every layer of the
// stack reuses (the stack computes the bias once and passes it down).
import { MultiHeadAttention } from "../../../attention/multi-head.js";
import { Embedding } from "../../../nn/layers.js";
import type { Rng } from "../../../util/rng.js";
import type { T5Config } from "./config.js";

export class T5Attention extends MultiHeadAttention {
  /** The bucket table [buckets, H]; null outside block 0's self-attention. */
  readonly relative_attention_bias: Embedding | null;

  constructor(cfg: T5Config, init: { rng: Rng; std?: number }, withBiasTable: boolean) {
    super(cfg.d_model, cfg.encoder_attention_heads, init, cfg.dropout, {
      headDim: cfg.d_kv,
      bias: false,
      names: ["q", "k", "v", "o"],
      scale: 1,
    });
    this.relative_attention_bias = withBiasTable
      ? this.child(
          "relative_attention_bias",
          new Embedding(cfg.relative_attention_num_buckets, cfg.encoder_attention_heads, init),
        )
      : null;
  }
}
