// LoRA fine-tuning runs (`train`/`pretrain` with --lora-r): the pretrained model of --init-from
// gets a fresh adapter on the modules --lora-targets names and only the adapter trains; the
// run's checkpoints hold the adapter in PEFT's format (adapter_config.json, whose
// base_model_name_or_path is the --init-from directory, and adapter_model.safetensors). A
// resumed run rebuilds the base from that directory and puts the checkpoint's adapter on it.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { attachAdapter, newAdapterConfig } from "../models/peft.js";
import { buildModel } from "../models/registry.js";
import { holdFrozenWeightsBf16 } from "../nn/frozen-bf16.js";
import { buildHeldBf16 } from "../nn/layers.js";
import { buildForLoad } from "../nn/load-build.js";
import type { TrainableModel } from "../train/tasks.js";
import { MaskwiseError } from "../util/errors.js";
import { numberFlag } from "../util/flags.js";
import { isAdapterDir, readAdapterConfig } from "./adapter.js";
import { initFromHeld } from "./held-load.js";
import type { Flags, RunDir } from "./train-run.js";
import { modelConfigFor, modelFrom, type TokenVocabulary } from "./training-setup.js";

export const LORA_FLAGS = {
  "lora-r": { type: "string" },
  "lora-alpha": { type: "string" },
  "lora-dropout": { type: "string" },
  "lora-targets": { type: "string" },
  "base-precision": { type: "string" },
} as const;

/** PEFT's LoraConfig defaults, and the projections it adapts in llama- and BART-like models. */
export const LORA_DEFAULTS = { alpha: 8, dropout: 0, targets: ["q_proj", "v_proj"] };

export const LORA_HELP = `  --lora-r N             LoRA: train a rank-N adapter on the --init-from model instead of its
                         weights (the base stays frozen); checkpoints hold the adapter in
                         PEFT's format (adapter_config.json, adapter_model.safetensors)
  --lora-alpha X         the adapter's scale is alpha / r (default ${LORA_DEFAULTS.alpha})
  --lora-dropout X       dropout on the adapter's input (default ${LORA_DEFAULTS.dropout})
  --lora-targets LIST    modules to adapt, by transformers' names (default ${LORA_DEFAULTS.targets.join(",")});
                         all-linear: every Linear layer but the output head
  --base-precision P     float32 (default) or bfloat16: hold the frozen base's Linear weights and
                         embedding tables as bfloat16 only (half their memory; the adapter
                         stays float32)`;

interface LoraFlags {
  r: number;
  alpha: number;
  dropout: number;
  /** Module names, or PEFT's "all-linear". */
  targets: string[] | string;
}

/** How the frozen base holds its Linear weights (--base-precision). */
export type BasePrecision = "float32" | "bfloat16";

/** --base-precision as given, else as the resumed run saved it, else float32. */
export function basePrecisionFlag(command: string, v: Flags, saved?: unknown): BasePrecision {
  const given = v["base-precision"] ?? saved ?? "float32";
  if (given !== "float32" && given !== "bfloat16") {
    throw new MaskwiseError(`--base-precision must be float32 or bfloat16, got '${given}'`, {
      code: "E_ARG",
      where: `maskwise ${command} --base-precision`,
      hint: "bfloat16 holds the frozen base in half the memory",
    });
  }
  return given;
}

/** The LoRA flags given, or null when none is. */
function loraFlags(command: string, v: Flags): LoraFlags | null {
  // --base-precision says how the base is held, not what the adapter is (loraRunModel reads it).
  const given = Object.keys(LORA_FLAGS).filter((f) => f !== "base-precision" && v[f] !== undefined);
  if (given.length === 0) return null;
  if (v["lora-r"] === undefined) {
    throw new MaskwiseError(`--${given[0]} needs --lora-r`, {
      code: "E_ARG",
      where: `maskwise ${command}`,
      hint: "--lora-r N trains a LoRA adapter of rank N",
    });
  }
  const str = (name: string) => v[name] as string | undefined;
  const dropout = numberFlag(command, "lora-dropout", str("lora-dropout"), LORA_DEFAULTS.dropout, {
    min: 0,
  });
  if (!(dropout < 1)) {
    throw new MaskwiseError(`--lora-dropout must be below 1, got '${v["lora-dropout"]}'`, {
      code: "E_ARG",
      where: `maskwise ${command} --lora-dropout`,
    });
  }
  const targets = (str("lora-targets") ?? LORA_DEFAULTS.targets.join(","))
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (targets.length === 0) {
    throw new MaskwiseError("--lora-targets names no module", {
      code: "E_ARG",
      where: `maskwise ${command} --lora-targets`,
      hint: "a comma list such as q_proj,v_proj",
    });
  }
  return {
    r: numberFlag(command, "lora-r", str("lora-r"), 8, { min: 1, integer: true }),
    alpha: numberFlag(command, "lora-alpha", str("lora-alpha"), LORA_DEFAULTS.alpha, { min: 0 }),
    dropout,
    // PEFT's target_modules "all-linear" is a string, not a module name.
    targets: targets.length === 1 && targets[0] === "all-linear" ? "all-linear" : targets,
  };
}

/**
 * The model of a LoRA run, or null when the run is not one: a fresh run with --lora-r (which
 * needs --init-from), or a resumed run whose checkpoint holds an adapter (whose LoRA flags, if
 * given again, must say what the checkpoint's adapter is).
 */
export function loraRunModel(
  run: RunDir,
  v: Flags,
  tok: TokenVocabulary,
  seed: number,
): TrainableModel | null {
  const flags = loraFlags(run.command, v);
  const resumed = run.resume && isAdapterDir(run.lastDir);
  if (!flags && !resumed) {
    if (v["base-precision"] !== undefined) {
      throw new MaskwiseError("--base-precision needs --lora-r", {
        code: "E_ARG",
        where: `maskwise ${run.command} --base-precision`,
        hint: "only a LoRA run's frozen base can be held in bfloat16; add --lora-r N",
      });
    }
    return null;
  }
  const precision = basePrecisionFlag(run.command, v, run.saved.data?.["base-precision"]);
  if (v.freeze !== undefined) {
    throw new MaskwiseError("--freeze and --lora-r together", {
      code: "E_ARG",
      where: `maskwise ${run.command}`,
      hint: "a LoRA run freezes the whole base model already; drop --freeze",
    });
  }
  if (resumed) {
    const config = readAdapterConfig(run.lastDir);
    if (flags) {
      const same =
        flags.r === config.spec.r &&
        flags.alpha === config.spec.alpha &&
        flags.dropout === config.spec.dropout &&
        JSON.stringify(flags.targets) === JSON.stringify(config.targets);
      if (!same) {
        throw new MaskwiseError("the LoRA flags differ from the adapter of the run", {
          code: "E_ARG",
          where: join(run.lastDir, "adapter_config.json"),
          hint: "drop the --lora-* flags: a resumed run keeps its adapter",
        });
      }
    }
    const base = run.saved.data?.["init-from"];
    if (typeof base !== "string" || !existsSync(join(base, "config.json"))) {
      throw new MaskwiseError("the base model of this LoRA run is gone", {
        code: "E_FILE",
        where: String(base),
        hint: "put the --init-from model directory back where the run was started with it",
      });
    }
    const model = baseModel(base, tok, seed, precision);
    attachAdapter(model, config, seed);
    if (precision === "bfloat16") holdFrozenWeightsBf16(model);
    return model;
  }
  const init = v["init-from"] as string | undefined;
  if (!init) {
    throw new MaskwiseError("--lora-r adapts a pretrained model", {
      code: "E_ARG",
      where: `maskwise ${run.command} --lora-r`,
      hint: "pass the model to adapt with --init-from DIR",
    });
  }
  if (v.model !== undefined) {
    throw new MaskwiseError("--lora-r keeps the --init-from model's architecture", {
      code: "E_ARG",
      where: `maskwise ${run.command} --${v.config !== undefined ? "config" : "model"}`,
      hint: "drop --config/--model",
    });
  }
  const dropout =
    v.dropout === undefined
      ? undefined
      : numberFlag(run.command, "dropout", v.dropout as string, 0.1, { min: 0 });
  const model = baseModel(init, tok, seed, precision, dropout);
  const config = newAdapterConfig(model, { ...(flags as LoraFlags), base: resolve(init) });
  attachAdapter(model, config, seed);
  // After the adapter froze the base: the float32 weights of its Linear layers go.
  if (precision === "bfloat16") holdFrozenWeightsBf16(model);
  return model;
}

/**
 * The pretrained model of `dir` as the run's model (its weights loaded). A base held in
 * bfloat16 is built and loaded in bfloat16 from the start (src/node/held-load.ts): its float32
 * copy never exists.
 */
function baseModel(
  dir: string,
  tok: TokenVocabulary,
  seed: number,
  precision: BasePrecision,
  dropout?: number,
): TrainableModel {
  const config = modelConfigFor(
    join(dir, "config.json"),
    tok,
    dropout === undefined ? {} : { dropout },
  );
  if (precision === "bfloat16") {
    // Neither random nor float32: every held weight is read from the file (nn/load-build.ts).
    return buildForLoad(
      () => buildHeldBf16(() => buildModel(config, seed)),
      (m) => initFromHeld(m, dir),
      dir,
    );
  }
  return modelFrom(config, seed, dir);
}
