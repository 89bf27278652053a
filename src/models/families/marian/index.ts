// Marian (transformers' MarianMTModel: the opus-mt translation models): a post-norm
// encoder-decoder with Marian's sinusoids and swish, read from and written to its Hugging Face
// layout; fine-tunes on the seq2seq tasks.
import { EncoderDecoderModel } from "../../encoder-decoder.js";
import { bartTieGroups } from "../bart/config.js";
import { transformersFamily } from "../transformers.js";
import { marianConfig, marianConfigJson } from "./config.js";

export const marian = transformersFamily({
  name: "marian",
  structure: "encoder-decoder",
  description: "Marian (transformers' MarianMTModel, the opus-mt models)",
  resolveConfig: marianConfig,
  build: (config, seed) => new EncoderDecoderModel(config, seed),
  configJson: marianConfigJson,
  fileLayout: (config) => ({
    tieGroups: bartTieGroups(config),
    // Older files store the sinusoid tables, which are computed, not learned.
    ignore: [/^model\.(encoder|decoder)\.embed_positions\.weight$/],
    order: "transformers",
  }),
  inspectable: true,
});
