// A model family: everything maskwise needs to know about one kind of model, declared in one
// folder (src/models/families/<name>/) and looked up through the registry (./registry.ts). The
// CLI, node/ and train/ ask the family instead of switching on a name, so adding a family is a
// folder plus one line in the registry's list.
//
// A family has one of three structures, the contracts its model keeps with the rest of maskwise:
//   encoder-decoder  forward(Seq2SeqBatch): source -> encoder, decoder inputs -> decoder (seq2seq)
//   decoder-only     forward(LMBatch): one sequence, labels aligned with positions (causal LM);
//                    packed rows give position_ids and document_ids, which it must honour
//   encoder-only     forward(LMBatch): one sequence, labels at masked positions (masked LM)
// Many families share a structure (BART and Marian are encoder-decoders); the training loop and
// decoding are written once per structure, never per family.
import type { Module } from "../nn/module.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Rng } from "../util/rng.js";
import type { ModelConfig } from "./config.js";
import type { FileLayout } from "./families/file-layout.js";

export type Structure = "encoder-decoder" | "decoder-only" | "encoder-only";

/** What every family's model offers: its config, and logits and loss for a batch. */
export interface FamilyModel extends Module {
  readonly config: ModelConfig;
  forward(
    batch: never,
    options?: { rng?: Rng; labelSmoothing?: number; unpad?: boolean },
  ): { logits: Tensor; loss: Tensor | null };
}

export interface ModelFamily<M extends FamilyModel = FamilyModel> {
  /** The name config.json carries (`maskwise_arch` for maskwise's own families). */
  readonly name: string;
  readonly structure: Structure;
  /** One line for help texts: what the family is. */
  readonly description: string;
  /** Whether a config.json object belongs to this family. */
  claims(raw: Readonly<Record<string, unknown>>): boolean;
  /** Checks and completes a config.json object; errors name `source` and the key at fault. */
  resolveConfig(raw: Readonly<Record<string, unknown>>, source: string): ModelConfig;
  /** A model of this family with seeded random weights. */
  build(config: ModelConfig, seed: number): M;
  /** The batch fields its forward reads (Hugging Face names; `maskwise forward`). */
  readonly batchFields: readonly string[];
  /** The `maskwise train --task` values it trains on. */
  readonly tasks: readonly string[];
  /** The `maskwise pretrain --objective` values it trains on. */
  readonly objectives: readonly string[];
  /**
   * The tensor-name prefix of its encoder when another family with the same prefix and layout
   * can start from it (an MLM encoder starts an encoder-decoder's encoder), else null.
   */
  readonly encoderPrefix: string | null;
  /** Decoding defaults of `translate`/`generate`/`serve`; null when it does not generate. */
  readonly decoding: { readonly beam: number } | null;
  /** Whether `maskwise serve` can inspect it (it shows encoder, decoder and cross-attention). */
  readonly inspectable: boolean;
  /**
   * Whose directories it reads: maskwise's (a config built from a preset and the tokenizer's
   * special ids) or transformers' (a pretrained model's config is its own: sizes and ids stay).
   */
  readonly source: "maskwise" | "transformers";
  /** The config.json object of a config (transformers' keys, unknown ones kept, for HF families). */
  configJson(config: ModelConfig): Record<string, unknown>;
  /** How its weight files name the model's tensors (tied tensors stored once). */
  fileLayout(config: ModelConfig): FileLayout;
}
