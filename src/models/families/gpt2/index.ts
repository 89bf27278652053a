// GPT-2 (transformers' GPT2LMHeadModel): a pre-norm decoder-only model read from and written to
// its Hugging Face layout (Conv1D weights, fused c_attn); fine-tunes as a language model.
import { DecoderOnlyModel } from "../../decoder-only.js";
import { transformersFamily } from "../transformers.js";
import { gpt2Config, gpt2ConfigJson } from "./config.js";
import { gpt2Layout } from "./layout.js";

export const gpt2 = transformersFamily({
  name: "gpt2",
  structure: "decoder-only",
  description: "GPT-2 (transformers' GPT2LMHeadModel)",
  resolveConfig: gpt2Config,
  build: (config, seed) => new DecoderOnlyModel(config, seed),
  objectives: ["clm"],
  configJson: gpt2ConfigJson,
  fileLayout: gpt2Layout,
});
