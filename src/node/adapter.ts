// LoRA adapter folders as PEFT writes and reads them (`save_pretrained` /
// `PeftModel.from_pretrained`): adapter_config.json and adapter_model.safetensors (an older
// adapter_model.bin is read too). Loading puts the adapter on a model already loaded from its base
// directory; merging writes a model directory with W + scaling * B A in the family's layout.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { FamilyModel } from "../models/family.js";
import {
  ADAPTER_CONFIG,
  ADAPTER_WEIGHTS,
  type AdapterConfig,
  adapterFiles,
  attachAdapter,
  forgetAdapter,
  loadAdapterState,
  parseAdapterConfig,
} from "../models/peft.js";
import { buildForLoad } from "../nn/load-build.js";
import { mergeLora } from "../nn/lora.js";
import { MaskwiseError } from "../util/errors.js";
import { atomicWrite, readText } from "./files.js";
import { readWeightsFile } from "./weights.js";

/** Whether `dir` holds an adapter (its adapter_config.json). */
export function isAdapterDir(dir: string): boolean {
  return existsSync(join(dir, ADAPTER_CONFIG));
}

/** Reads the adapter_config.json of `dir`. */
export function readAdapterConfig(dir: string): AdapterConfig {
  const path = join(dir, ADAPTER_CONFIG);
  if (!existsSync(path)) {
    throw new MaskwiseError(existsSync(dir) ? `no ${ADAPTER_CONFIG}` : "adapter folder not found", {
      code: "E_FILE",
      where: existsSync(dir) ? path : dir,
      hint: "pass a folder PEFT's save_pretrained (or a maskwise LoRA run's checkpoint) wrote",
    });
  }
  return parseAdapterConfig(readText(path, ADAPTER_CONFIG), path);
}

/**
 * Puts the LoRA adapter in `dir` on `model` (loaded from the adapter's base model): its layers
 * named by target_modules get the adapter's A and B, the rest of the model is frozen. Returns the
 * adapter's config. What the model computes then is PEFT's PeftModel on the same base.
 */
export function loadAdapter(model: FamilyModel, dir: string): AdapterConfig {
  const config = readAdapterConfig(dir);
  const safetensors = join(dir, ADAPTER_WEIGHTS);
  const bin = join(dir, "adapter_model.bin");
  const path = existsSync(safetensors) ? safetensors : existsSync(bin) ? bin : null;
  if (!path) {
    throw new MaskwiseError(`no ${ADAPTER_WEIGHTS}`, {
      code: "E_FILE",
      where: dir,
      hint: "an adapter folder holds adapter_config.json and adapter_model.safetensors",
    });
  }
  // The file holds every A and B: none is drawn at random first (nn/load-build.ts).
  buildForLoad(
    () => {
      attachAdapter(model, config);
      return model;
    },
    (m) => loadAdapterState(m, readWeightsFile(path).tensors, path),
    path,
  );
  return config;
}

/** Writes the adapter `model` carries into `dir` (each file atomically). */
export function saveAdapter(dir: string, model: FamilyModel, base?: string | null): void {
  for (const [name, data] of Object.entries(adapterFiles(model, base)))
    atomicWrite(join(dir, name), data);
}

/** Folds the adapter into the model's weights (W + scaling * B A) and takes it off. */
export function mergeAdapter(model: FamilyModel): string[] {
  const merged = mergeLora(model);
  forgetAdapter(model);
  return merged;
}
