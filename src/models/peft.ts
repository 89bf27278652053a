// LoRA adapters in PEFT's format: `adapter_config.json` (PEFT's LoraConfig, keys sorted, every
// key kept for writing back) and `adapter_model.safetensors` with the adapter tensors alone,
// named `base_model.model.<module path>.lora_A.weight` [r, in] and `.lora_B.weight` [out, r],
// where the module path is transformers' (the family's file layout renames maskwise's module
// names to it, as it does for the model's own tensors). The adapter layers are src/nn/lora.ts.
import { serializeSafetensors } from "../io/safetensors.js";
import { hfTensorOrder } from "../io/safetensors-hf.js";
import { Linear } from "../nn/layers.js";
import { addLora, isLoraParameter, type LoraSpec, loraLayers } from "../nn/lora.js";
import type { Module } from "../nn/module.js";
import { fmtShape, MaskwiseError } from "../util/errors.js";
import { Rng } from "../util/rng.js";
import { type FileLayout, rename, type StoredTensor } from "./families/file-layout.js";
import { floatPaths, stringifyConfig } from "./families/json-numbers.js";
import type { FamilyModel, Structure } from "./family.js";
import { familyOf } from "./registry.js";

export const ADAPTER_CONFIG = "adapter_config.json";
export const ADAPTER_WEIGHTS = "adapter_model.safetensors";

/** The key prefix PEFT's PeftModel puts before the base model's own names. */
const PREFIX = "base_model.model.";

/** A LoRA adapter's config: PEFT's keys as read (`raw`), and what maskwise uses of them. */
export interface AdapterConfig {
  /** adapter_config.json as written, every key kept (unknown ones written back unchanged). */
  raw: Record<string, unknown>;
  /** Paths of the floats in the file's text (lora_alpha: 8.0 stays 8.0). */
  floats: string[];
  spec: LoraSpec;
  /** target_modules: module names (a module matches its last parts) or one regular expression. */
  targets: readonly string[] | string;
}

/** PEFT's task_type for a structure (an encoder-only masked LM has none). */
const TASK_TYPE: Record<Structure, string | null> = {
  "decoder-only": "CAUSAL_LM",
  "encoder-decoder": "SEQ_2_SEQ_LM",
  "encoder-only": null,
};

function bad(source: string, key: string, what: string, hint?: string): never {
  throw new MaskwiseError(`${key} ${what}`, {
    code: "E_CONFIG",
    where: `${source}: ${key}`,
    hint: hint ?? "maskwise reads LoRA adapters in PEFT's format (peft_type LORA)",
  });
}

/** Keys whose PEFT features maskwise does not implement, with the value that means "off". */
const OFF: [string, (v: unknown) => boolean][] = [
  ["bias", (v) => v === undefined || v === "none"],
  ["use_dora", (v) => !v],
  ["fan_in_fan_out", (v) => !v],
  ["lora_bias", (v) => !v],
  ["modules_to_save", (v) => v == null || (Array.isArray(v) && v.length === 0)],
  ["layers_to_transform", (v) => v == null],
  ["rank_pattern", (v) => v == null || Object.keys(v as object).length === 0],
  ["alpha_pattern", (v) => v == null || Object.keys(v as object).length === 0],
  ["exclude_modules", (v) => v == null || (Array.isArray(v) && v.length === 0)],
  ["target_parameters", (v) => v == null || (Array.isArray(v) && v.length === 0)],
  ["trainable_token_indices", (v) => v == null],
  ["use_qalora", (v) => !v],
];

/** Reads adapter_config.json's text; `source` names the file in errors. */
export function parseAdapterConfig(text: string, source: string): AdapterConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new MaskwiseError(`not JSON: ${(e as Error).message}`, {
      code: "E_CONFIG",
      where: source,
      hint: "adapter_config.json must hold PEFT's LoraConfig as JSON",
    });
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw))
    bad(source, "adapter_config.json", "must hold a JSON object");
  const r = raw as Record<string, unknown>;
  if (r.peft_type !== "LORA")
    bad(source, "peft_type", `is ${JSON.stringify(r.peft_type)}, not "LORA"`);
  const rank = r.r;
  if (typeof rank !== "number" || !Number.isInteger(rank) || rank < 1)
    bad(source, "r", `must be a positive integer, got ${JSON.stringify(rank)}`);
  const alpha = r.lora_alpha ?? 8;
  if (typeof alpha !== "number" || !Number.isFinite(alpha))
    bad(source, "lora_alpha", `must be a number, got ${JSON.stringify(alpha)}`);
  const dropout = r.lora_dropout ?? 0;
  if (typeof dropout !== "number" || !(dropout >= 0 && dropout < 1))
    bad(source, "lora_dropout", `must be in [0, 1), got ${JSON.stringify(dropout)}`);
  const t = r.target_modules;
  const listOk = Array.isArray(t) && t.length > 0 && t.every((x) => typeof x === "string");
  if (!listOk && typeof t !== "string")
    bad(source, "target_modules", "must be a list of module names or a regular expression");
  for (const [key, off] of OFF) {
    if (!off(r[key]))
      bad(
        source,
        key,
        `is ${JSON.stringify(r[key])}: maskwise supports plain LoRA on Linear layers only`,
        `set ${key} to its default, or merge the adapter with PEFT first`,
      );
  }
  return {
    raw: r,
    floats: floatPaths(text),
    spec: { r: rank, alpha, dropout, rslora: r.use_rslora === true },
    targets: listOk ? (t as string[]) : (t as string),
  };
}

/**
 * A new adapter's config with PEFT's defaults for the keys maskwise does not use (what PEFT
 * writes for LoraConfig(r, lora_alpha, lora_dropout, target_modules, task_type)).
 */
export function newAdapterConfig(
  model: FamilyModel,
  options: {
    r: number;
    alpha: number;
    dropout: number;
    /** Module names, or one string (a regular expression, or "all-linear"). */
    targets: readonly string[] | string;
    base: string | null;
  },
): AdapterConfig {
  const raw: Record<string, unknown> = {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: options.base,
    bias: "none",
    exclude_modules: null,
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: options.alpha,
    lora_bias: false,
    lora_dropout: options.dropout,
    modules_to_save: null,
    peft_type: "LORA",
    r: options.r,
    rank_pattern: {},
    revision: null,
    target_modules: typeof options.targets === "string" ? options.targets : [...options.targets],
    task_type: TASK_TYPE[familyOf(model.config).structure],
    use_dora: false,
    use_rslora: false,
  };
  return {
    raw,
    floats: ["lora_alpha", "lora_dropout"],
    spec: { r: options.r, alpha: options.alpha, dropout: options.dropout },
    targets: typeof options.targets === "string" ? options.targets : [...options.targets],
  };
}

/** adapter_config.json's text as PEFT writes it: keys sorted, indent 2, no final newline. */
export function adapterConfigText(config: AdapterConfig, base?: string | null): string {
  const raw: Record<string, unknown> = { ...config.raw };
  if (base !== undefined) raw.base_model_name_or_path = base;
  const sorted = Object.fromEntries(
    Object.keys(raw)
      .sort()
      .map((k) => [k, raw[k]]),
  );
  return stringifyConfig(sorted, new Set(config.floats)).replace(/\n$/, "");
}

/** The family's file layout, refused where its files store Linear weights in another shape. */
function layoutFor(model: FamilyModel): FileLayout {
  const family = familyOf(model.config);
  const layout = family.fileLayout(model.config);
  if (layout.reshape) {
    throw new MaskwiseError(`LoRA adapters on ${family.name} models are not supported`, {
      code: "E_CONFIG",
      where: family.name,
      hint: "its files store Linear weights in another shape (Conv1D, fused projections), which PEFT adapts as fan_in_fan_out modules",
    });
  }
  return layout;
}

/**
 * Whether PEFT's target_modules picks the Linear layer at transformers' path `path`: a list
 * names modules by their last parts, a string is a regular expression over the whole path, and
 * PEFT's "all-linear" is every Linear layer but the output head.
 */
export function targets(spec: readonly string[] | string, path: string): boolean {
  if (spec === "all-linear") return !/(^|\.)lm_head$/.test(path);
  if (typeof spec === "string") return new RegExp(`^(?:${spec})$`).test(path);
  return spec.some((t) => path === t || path.endsWith(`.${t}`));
}

const attached = new WeakMap<Module, AdapterConfig>();

/** The config of the adapter `model` carries (attachAdapter's), or null. */
export function adapterOf(model: Module): AdapterConfig | null {
  return attached.get(model) ?? null;
}

/**
 * Puts a fresh adapter of `config` on every Linear of `model` that config's target_modules name
 * (by transformers' module paths), freezing the rest of the model. The output head is never a
 * target: it is computed from its weight directly (tied heads, decoding steps).
 */
export function attachAdapter(
  model: FamilyModel,
  config: AdapterConfig,
  seed = 0,
): [string, Linear][] {
  if (attached.has(model)) {
    throw new MaskwiseError("the model already carries a LoRA adapter", {
      code: "E_ARG",
      where: "attachAdapter",
      hint: "load one adapter per model, or merge the first one before adding another",
    });
  }
  const layout = layoutFor(model);
  // transformers' paths of the model's Linear layers: what target_modules may name.
  const linears = model
    .namedModules()
    .filter(([, m]) => m instanceof Linear)
    .map(([p]) => rename(p, layout, 1));
  if (!linears.some((p) => targets(config.targets, p))) {
    const leaves = [...new Set(linears.map((p) => p.replace(/^.*\./, "")))];
    throw new MaskwiseError(
      `target_modules ${JSON.stringify(config.targets)} names no Linear layer of this ${familyOf(model.config).name} model`,
      {
        code: "E_ARG",
        where: "target_modules",
        hint: `its Linear layers are named ${leaves.join(", ")}`,
      },
    );
  }
  const head = new Set<string>();
  const layers = addLora(
    model,
    config.spec,
    (path) => {
      const hfPath = rename(path, layout, 1);
      if (!targets(config.targets, hfPath)) return false;
      if (/(^|\.)lm_head$/.test(hfPath)) head.add(hfPath);
      return true;
    },
    new Rng(seed),
  );
  if (head.size > 0) {
    throw new MaskwiseError(`LoRA on the output head (${[...head][0]}) is not supported`, {
      code: "E_CONFIG",
      where: "target_modules",
      hint: "target the attention and feed-forward projections",
    });
  }
  attached.set(model, config);
  return layers;
}

/** Takes the adapter's record off a model whose adapters were merged (src/nn/lora.ts mergeLora). */
export function forgetAdapter(model: Module): void {
  attached.delete(model);
}

/** The adapter's tensors as adapter_model.safetensors holds them, in transformers' order. */
export function adapterState(
  model: FamilyModel,
): [string, { shape: readonly number[]; data: Float32Array }][] {
  const layout = layoutFor(model);
  const out: [string, { shape: readonly number[]; data: Float32Array }][] = [];
  for (const [name, p] of model.namedParameters()) {
    if (!isLoraParameter(name)) continue;
    out.push([PREFIX + rename(name, layout, 1), { shape: p.shape, data: p.f32 }]);
  }
  return hfTensorOrder(out);
}

/**
 * Loads adapter tensors (adapter_model.safetensors' names) into the adapters `model` carries:
 * every adapter tensor must be there with its shape, and nothing else. A key with PEFT's adapter
 * name (`lora_A.default.weight`, as PEFT holds it in memory) is read as the saved form.
 */
export function loadAdapterState(
  model: FamilyModel,
  file: ReadonlyMap<string, StoredTensor>,
  source: string,
): void {
  const layout = layoutFor(model);
  const byFile = new Map<string, StoredTensor>();
  for (const [name, t] of file) {
    const plain = name.replace(/\.(lora_[AB])\.default\.weight$/, ".$1.weight");
    if (!plain.startsWith(PREFIX) || !isLoraParameter(plain)) {
      throw new MaskwiseError(`'${name}' is not a LoRA tensor`, {
        code: "E_CHECKPOINT",
        where: source,
        hint: "adapter_model.safetensors must hold base_model.model.<module>.lora_A.weight and .lora_B.weight tensors only",
      });
    }
    byFile.set(rename(plain.slice(PREFIX.length), layout, 0), t);
  }
  const own = model.namedParameters().filter(([n]) => isLoraParameter(n));
  for (const [name, p] of own) {
    const t = byFile.get(name);
    const fileName = PREFIX + rename(name, layout, 1);
    if (!t) {
      throw new MaskwiseError(`missing tensor '${fileName}'`, {
        code: "E_CHECKPOINT",
        where: source,
        hint: "the adapter does not match adapter_config.json's target_modules or this base model",
      });
    }
    if (t.shape.length !== 2 || t.shape[0] !== p.shape[0] || t.shape[1] !== p.shape[1]) {
      throw new MaskwiseError(
        `tensor '${fileName}' has shape ${fmtShape(t.shape)}, the model expects ${fmtShape(p.shape)}`,
        {
          code: "E_CHECKPOINT",
          where: source,
          hint: "the adapter was trained on another base model (or another r)",
        },
      );
    }
    p.f32.set(t.data);
    byFile.delete(name);
  }
  if (byFile.size > 0) {
    const extra = [...byFile.keys()].map((n) => PREFIX + rename(n, layout, 1));
    throw new MaskwiseError(`unexpected tensors ${extra.slice(0, 3).join(", ")}`, {
      code: "E_CHECKPOINT",
      where: source,
      hint: "these modules are not in adapter_config.json's target_modules, or not Linear layers of this model",
    });
  }
  if (loraLayers(model).length === 0) {
    throw new MaskwiseError("the model carries no adapter", { code: "E_ARG", where: source });
  }
}

/**
 * The files of the adapter `model` carries, as PEFT's save_pretrained writes them:
 * adapter_config.json (with base_model_name_or_path set to `base` when given) and
 * adapter_model.safetensors.
 */
export function adapterFiles(
  model: FamilyModel,
  base?: string | null,
): Record<string, string | Uint8Array> {
  const config = adapterOf(model);
  if (!config) {
    throw new MaskwiseError("the model carries no LoRA adapter", {
      code: "E_ARG",
      where: "adapterFiles",
    });
  }
  return {
    [ADAPTER_CONFIG]: adapterConfigText(config, base),
    [ADAPTER_WEIGHTS]: serializeSafetensors(adapterState(model), { format: "pt" }),
  };
}
