// One decoding step of Llama, Qwen2 or Mistral on flat arrays (the DecodingStep of
// src/models/incremental.ts): each row's token embedding, every layer's `step` on its KV cache
// (q and k turned at each row's position), the final norm and the head. Computes what
// LlamaForCausalLM.forward computes on the caches for one new token per row. A layer with a
// sliding window W sees, of the cached columns, only the last W (the new one included), counted
// in columns of the padded batch as transformers counts them.
import type { DecodingWeights } from "../../../nn/decoding-weights.js";
import type { DecoderLayerCache } from "../../blocks.js";
import { projectInto } from "../../head.js";
import type { DecodingStep } from "../../model-step.js";
import { type KeepMask, StepBuffers, type StepMasks } from "../../step-buffers.js";
import type { LlamaForCausalLM } from "./model.js";

export class LlamaStep implements DecodingStep {
  private readonly buffers: StepBuffers;
  private up = new Float32Array(0);
  /** The windowed copy of the keep mask, reused between steps. */
  private windowed = new Uint8Array(0);

  constructor(
    private readonly model: LlamaForCausalLM,
    private readonly copies: DecodingWeights | null,
  ) {
    const cfg = model.config;
    this.buffers = new StepBuffers(
      cfg.d_model,
      cfg.decoder_ffn_dim,
      cfg.vocab_size,
      cfg.decoder_attention_heads * cfg.head_dim,
    );
  }

  /**
   * The keep mask of a layer with window W when the new token goes to column `t`: columns
   * t - W + 1 .. t of `keep` (all of them when it is null), by the cache's rows.
   */
  private windowKeep(keep: KeepMask | null, rows: number, t: number, W: number): KeepMask {
    const stride = keep ? keep.stride : t + 1;
    const n = rows * stride;
    if (this.windowed.length < n) this.windowed = new Uint8Array(n);
    const out = this.windowed.subarray(0, n);
    if (keep) out.set(keep.keep.subarray(0, n));
    else out.fill(1);
    const before = Math.max(0, t - W + 1);
    for (let r = 0; r < rows; r++) out.fill(0, r * stride, r * stride + before);
    return { keep: out, stride };
  }

  run(
    tokens: Int32Array,
    positions: Int32Array,
    caches: readonly DecoderLayerCache[],
    masks: StepMasks,
  ): Float32Array {
    const { model, copies } = this;
    const cfg = model.config;
    const R = tokens.length;
    const F = cfg.decoder_ffn_dim;
    const view = this.buffers.rows(R);
    if (this.up.length < R * F) this.up = new Float32Array(R * F);
    const up = this.up.subarray(0, R * F);
    // Each row's token embedding (widened where the table is held in bfloat16).
    model.model.embed_tokens.rowsInto(tokens, view.x);
    model.model.layers.items.forEach((layer, i) => {
      const cache = caches[i].self;
      let keep = masks.self;
      if (layer.window !== null) {
        // The keep mask's rows (by physical cache row, or by query row once reordered); without
        // one, every row the kernel may read.
        const rows = masks.self
          ? Math.floor(masks.self.keep.length / masks.self.stride)
          : Math.max(cache.view().P, R);
        keep = this.windowKeep(masks.self, rows, cache.length, layer.window);
      }
      layer.step(view, cache, keep, positions, up, copies);
    });
    const hidden = model.model.norm.into(view.x, view.h, R);
    projectInto(model.lm_head, null, hidden, view.logits, R, copies);
    return view.logits;
  }
}
