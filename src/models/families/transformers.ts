// What the families that read transformers' directories share, so each declares only what is
// its own: the batch fields, tasks and defaults of its structure, and that a config.json belongs
// to it by its model_type (and no maskwise_arch).
import type { ModelConfig } from "../config.js";
import type { FamilyModel, ModelFamily, Structure } from "../family.js";
import type { FileLayout } from "./file-layout.js";

/** The batch fields `forward` reads, per structure. */
export const BATCH_FIELDS: Record<Structure, readonly string[]> = {
  "encoder-decoder": [
    "input_ids",
    "attention_mask",
    "decoder_input_ids",
    "decoder_attention_mask",
    "labels",
  ],
  "decoder-only": [
    "input_ids",
    "attention_mask",
    "labels",
    "prefix_lengths",
    "position_ids",
    "document_ids",
  ],
  "encoder-only": ["input_ids", "attention_mask", "token_type_ids", "labels"],
};

/** The text tasks of `maskwise train` each structure fine-tunes on. */
export const STRUCTURE_TASKS: Record<Structure, readonly string[]> = {
  "encoder-decoder": ["translation", "summarization", "dialogue", "qa"],
  "decoder-only": ["lm", "summarization", "dialogue", "qa", "chat"],
  "encoder-only": [],
};

export interface TransformersFamilySpec<M extends FamilyModel> {
  /** The name, and config.json's model_type. */
  name: string;
  structure: Structure;
  description: string;
  resolveConfig(raw: Readonly<Record<string, unknown>>, source: string): ModelConfig;
  build(config: ModelConfig, seed: number): M;
  configJson(config: ModelConfig): Record<string, unknown>;
  fileLayout(config: ModelConfig): FileLayout;
  /** Pretraining objectives it continues (masked LM for BERT, causal LM for GPT-2). */
  objectives?: readonly string[];
  /** Whether `maskwise serve` can show it (BART-layout encoder-decoders). */
  inspectable?: boolean;
}

/**
 * A family of transformers' directories: claims config.json objects of its model_type, trains on
 * its structure's tasks, decodes greedily unless generation_config.json says otherwise.
 */
export function transformersFamily<M extends FamilyModel>(
  spec: TransformersFamilySpec<M>,
): ModelFamily<M> {
  return {
    name: spec.name,
    structure: spec.structure,
    description: spec.description,
    claims: (raw) => raw.model_type === spec.name && raw.maskwise_arch === undefined,
    resolveConfig: spec.resolveConfig,
    build: spec.build,
    batchFields: BATCH_FIELDS[spec.structure],
    tasks: STRUCTURE_TASKS[spec.structure],
    objectives: spec.objectives ?? [],
    encoderPrefix: null,
    decoding: spec.structure === "encoder-only" ? null : { beam: 1 },
    source: "transformers",
    inspectable: spec.inspectable ?? false,
    configJson: spec.configJson,
    fileLayout: spec.fileLayout,
  };
}
