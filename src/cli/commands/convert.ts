// `maskwise convert --model SRC --out DST`: reads a model directory of a transformers family
// (model.safetensors, sharded safetensors or pytorch_model.bin) and writes it as transformers'
// save_pretrained does: config.json with every key it had, model.safetensors without the tied
// copies transformers leaves out, and the generation and tokenizer files beside them.
import { copyFileSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { familyOf } from "../../models/registry.js";
import { modelDirArg } from "../../node/model-arg.js";
import { loadModel, saveModel } from "../../node/model-dir.js";
import { MaskwiseError } from "../../util/errors.js";
import { type Command, parseFlags } from "../command.js";

const NAME = "convert";

/** Files copied as they are: generation settings and the tokenizer's files. */
const BESIDE =
  /^(generation_config\.json|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|vocab\.(json|txt)|merges\.txt|.*\.spm|.*\.model|added_tokens\.json|chat_template\.jinja)$/;

export const command: Command = {
  path: ["convert"],
  summary: "rewrite a model directory as transformers' from_pretrained loads it",
  help: `Usage: maskwise convert --model SRC --out DST

Reads the model directory SRC of a transformers family (bart, mbart, bert, roberta, …: see
docs/pretrained.md), from model.safetensors, model.safetensors.index.json with its shards, or
pytorch_model.bin (read without running any of the pickle's code), and writes DST as
transformers' save_pretrained writes it: config.json with every key SRC had, model.safetensors
(float32, without the tied copies transformers leaves out), and SRC's generation_config.json
and tokenizer files copied beside them. DST must not exist or be empty.`,
  async run(argv) {
    const { values } = parseFlags(NAME, argv, {
      model: { type: "string" },
      out: { type: "string" },
    });
    for (const f of ["model", "out"] as const) {
      if (!values[f]) {
        throw new MaskwiseError(`--${f} is required`, {
          code: "E_ARG",
          where: `maskwise ${NAME}`,
          hint: `see 'maskwise ${NAME} --help'`,
        });
      }
    }
    const src = modelDirArg(values.model as string);
    const out = values.out as string;
    if (existsSync(out) && readdirSync(out).length > 0) {
      throw new MaskwiseError("the output directory is not empty", {
        code: "E_ARG",
        where: out,
        hint: "give a new directory; nothing in an existing one is overwritten",
      });
    }
    const model = loadModel(src);
    if (familyOf(model.config).source !== "transformers") {
      throw new MaskwiseError(
        `${src} is a maskwise ${familyOf(model.config).name} model, which no transformers class reads as it is`,
        {
          code: "E_ARG",
          where: src,
          hint: "convert reads the directories of transformers families (see docs/pretrained.md)",
        },
      );
    }
    mkdirSync(out, { recursive: true });
    saveModel(out, model);
    for (const name of readdirSync(src))
      if (BESIDE.test(name)) copyFileSync(join(src, name), join(out, name));
    console.log(out);
    return 0;
  },
};
