// A model's tensors and config as its family's files hold them: the one place that turns a
// weights file into a model's parameters and back (tied tensors stored once where the family's
// layout says so), and a config into its config.json object.

import { hfTensorOrder } from "../io/safetensors-hf.js";
import { isLoraParameter } from "../nn/lora.js";
import { fromFile, type StoredTensor, toFile } from "./families/file-layout.js";
import { stringifyConfig } from "./families/json-numbers.js";
import type { FamilyModel } from "./family.js";
import { familyOf } from "./registry.js";

/**
 * The model's own parameters: without the tensors of a LoRA adapter it carries, which live in
 * the adapter's files (models/peft.ts), never in the model's.
 */
export function baseParameters(model: FamilyModel) {
  return model.namedParameters().filter(([n]) => !isLoraParameter(n));
}

/** Loads a weights file's tensors into the model (every parameter must be there, nothing else). */
export function loadFileState(
  model: FamilyModel,
  file: ReadonlyMap<string, StoredTensor>,
  source: string,
): void {
  const layout = familyOf(model.config).fileLayout(model.config);
  const base = baseParameters(model);
  const names = new Set(base.map(([n]) => n));
  const values = fromFile(file, layout, names, source);
  // An adapter's tensors are not the file's to give: the adapter keeps its own.
  for (const [n, p] of model.namedParameters())
    if (isLoraParameter(n)) values.set(n, { shape: p.shape, data: p.f32.slice() });
  model.loadState(values, { source });
}

/** The model's tensors as its family's weights file holds them, in the file's order. */
export function fileState(
  model: FamilyModel,
): [string, { shape: readonly number[]; data: Float32Array }][] {
  const layout = familyOf(model.config).fileLayout(model.config);
  const named = baseParameters(model).map(
    ([n, p]) => [n, { shape: p.shape, data: p.f32 }] as const,
  );
  const out = toFile(named, layout) as [string, { shape: readonly number[]; data: Float32Array }][];
  return layout.order === "transformers" ? hfTensorOrder(out) : out;
}

/** The model's config.json object. */
export function configJson(model: FamilyModel): Record<string, unknown> {
  return familyOf(model.config).configJson(model.config);
}

/** The model's config.json text: the floats of the file it was read from stay floats. */
export function configText(model: FamilyModel): string {
  return stringifyConfig(configJson(model), new Set(model.config.source_floats ?? []));
}
