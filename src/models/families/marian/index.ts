// Marian (transformers' MarianMTModel: the opus-mt translation models): a post-norm
// encoder-decoder with Marian's sinusoids and swish, read from and written to its Hugging Face
// layout; fine-tunes on the seq2seq tasks.
import { EncoderDecoderModel } from "../../encoder-decoder.js";
import type { ModelFamily } from "../../family.js";
import { bartTieGroups } from "../bart/config.js";
import { marianConfig, marianConfigJson } from "./config.js";

export const marian: ModelFamily<EncoderDecoderModel> = {
  name: "marian",
  structure: "encoder-decoder",
  description: "Marian (transformers' MarianMTModel, the opus-mt models)",
  claims: (raw) => raw.model_type === "marian" && raw.maskwise_arch === undefined,
  resolveConfig: marianConfig,
  build: (config, seed) => new EncoderDecoderModel(config, seed),
  batchFields: [
    "input_ids",
    "attention_mask",
    "decoder_input_ids",
    "decoder_attention_mask",
    "labels",
  ],
  tasks: ["translation", "summarization", "dialogue", "qa"],
  objectives: [],
  encoderPrefix: null,
  decoding: { beam: 1 },
  source: "transformers",
  inspectable: true,
  configJson: marianConfigJson,
  fileLayout: (config) => ({
    tieGroups: bartTieGroups(config),
    // Older files store the sinusoid tables, which are computed, not learned.
    ignore: [/^model\.(encoder|decoder)\.embed_positions\.weight$/],
    order: "transformers",
  }),
};
