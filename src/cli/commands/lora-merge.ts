// `maskwise lora merge --model DIR --adapter DIR --out DIR`: folds a LoRA adapter in PEFT's format
// into its base model's weights (W + scaling * B A for every adapted layer, as PEFT's
// merge_and_unload) and writes the result as a model directory in the family's layout, with the
// base's tokenizer and generation files beside it.
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { loadAdapter, mergeAdapter, readAdapterConfig } from "../../node/adapter.js";
import { loadModel, saveModel } from "../../node/model-dir.js";
import { MaskwiseError } from "../../util/errors.js";
import { type Command, parseFlags } from "../command.js";

const NAME = "lora merge";

/** Files copied as they are: generation settings and the tokenizer's files. */
const BESIDE =
  /^(generation_config\.json|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|vocab\.(json|txt)|merges\.txt|.*\.spm|.*\.model|added_tokens\.json|chat_template\.jinja)$/;

export const command: Command = {
  path: ["lora", "merge"],
  summary: "merge a LoRA adapter (PEFT's format) into its base model; write a model directory",
  help: `Usage: maskwise lora merge [--model DIR] --adapter DIR --out DIR

Loads the base model DIR (default: the adapter's base_model_name_or_path, which a LoRA run sets
to its --init-from directory), puts the adapter on it (adapter_config.json and
adapter_model.safetensors, as PEFT's save_pretrained or a maskwise LoRA run's checkpoint wrote
them), folds it into the weights (W + lora_alpha / r * B A, as PEFT's merge_and_unload) and
writes config.json and model.safetensors in the model family's layout (transformers' for its
families), with the base's generation_config.json and tokenizer files copied beside them (the
adapter folder's tokenizer.json where the base has none). --out must not exist or be empty.`,
  async run(argv) {
    const { values } = parseFlags(NAME, argv, {
      model: { type: "string" },
      adapter: { type: "string" },
      out: { type: "string" },
    });
    for (const f of ["adapter", "out"] as const) {
      if (!values[f]) {
        throw new MaskwiseError(`--${f} is required`, {
          code: "E_ARG",
          where: `maskwise ${NAME}`,
          hint: `see 'maskwise ${NAME} --help'`,
        });
      }
    }
    const adapter = values.adapter as string;
    const out = values.out as string;
    const base = values.model ?? readAdapterConfig(adapter).raw.base_model_name_or_path;
    if (typeof base !== "string" || !existsSync(base) || !statSync(base).isDirectory()) {
      throw new MaskwiseError(
        values.model
          ? "the base model directory is not found"
          : "the adapter names no base model directory",
        {
          code: "E_ARG",
          where: values.model ? String(base) : join(adapter, "adapter_config.json"),
          hint: "pass the base model directory with --model",
        },
      );
    }
    if (existsSync(out) && readdirSync(out).length > 0) {
      throw new MaskwiseError("the output directory is not empty", {
        code: "E_ARG",
        where: out,
        hint: "give a new directory; nothing in an existing one is overwritten",
      });
    }
    const model = loadModel(base);
    loadAdapter(model, adapter);
    const merged = mergeAdapter(model);
    mkdirSync(out, { recursive: true });
    saveModel(out, model);
    const copied = new Set<string>();
    for (const dir of [base, adapter]) {
      for (const name of readdirSync(dir)) {
        if (!BESIDE.test(name) || copied.has(name)) continue;
        copyFileSync(join(dir, name), join(out, name));
        copied.add(name);
      }
    }
    process.stderr.write(`lora merge: ${merged.length} layers merged\n`);
    console.log(out);
    return 0;
  },
};
