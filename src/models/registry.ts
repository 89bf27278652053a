// The model-family registry: every family maskwise knows, looked up by name, by a config.json
// object, by a training task or a pretraining objective. Families register themselves from the
// list below; a program can add its own with `registerFamily`.
import { MaskwiseError } from "../util/errors.js";
import type { ModelConfig } from "./config.js";
import { bart } from "./families/bart/index.js";
import { bert } from "./families/bert/index.js";
import { decoderOnly } from "./families/decoder-only/index.js";
import { encoderDecoder } from "./families/encoder-decoder/index.js";
import { encoderOnly } from "./families/encoder-only/index.js";
import { gpt2 } from "./families/gpt2/index.js";
import { llama, mistral, qwen2 } from "./families/llama/index.js";
import { marian } from "./families/marian/index.js";
import { mbart } from "./families/mbart/index.js";
import { roberta } from "./families/roberta/index.js";
import { t5 } from "./families/t5/index.js";
import type { FamilyModel, ModelFamily } from "./family.js";

const byName = new Map<string, ModelFamily>();

/** Adds a family; its name must be new. */
export function registerFamily(family: ModelFamily): void {
  if (byName.has(family.name)) {
    throw new MaskwiseError(`a model family named '${family.name}' is already registered`, {
      code: "E_FAMILY",
      where: "registerFamily",
      kind: "failure",
    });
  }
  byName.set(family.name, family as ModelFamily);
}

// maskwise's own families first: a task's default model is one of them.
const BUILT_IN = [
  encoderDecoder,
  decoderOnly,
  encoderOnly,
  bart,
  mbart,
  marian,
  t5,
  bert,
  roberta,
  gpt2,
  llama,
  qwen2,
  mistral,
];
for (const f of BUILT_IN as ModelFamily[]) registerFamily(f);

/** Every registered family, in registration order. */
export function families(): ModelFamily[] {
  return [...byName.values()];
}

function names(list: readonly ModelFamily[]): string {
  return list.map((f) => f.name).join(", ");
}

/** The family called `name`. */
export function getFamily(name: string, where = "model family"): ModelFamily {
  const f = byName.get(name);
  if (!f) {
    throw new MaskwiseError(`unknown model family '${name}'`, {
      code: "E_FAMILY",
      where,
      hint: `known families: ${names(families())}`,
    });
  }
  return f;
}

/** The family a config.json object belongs to; `source` names the file in errors. */
export function familyOfRaw(raw: Readonly<Record<string, unknown>>, source: string): ModelFamily {
  const found = families().find((f) => f.claims(raw));
  if (found) return found;
  const named =
    raw.maskwise_arch !== undefined
      ? `maskwise_arch ${JSON.stringify(raw.maskwise_arch)}`
      : `model_type ${JSON.stringify(raw.model_type)}`;
  throw new MaskwiseError(`no model family reads a config with ${named}`, {
    code: "E_CONFIG",
    where: source,
    hint: `known families: ${names(families())}`,
  });
}

/** The family of a resolved config (the one that resolved it). */
export function familyOf(config: ModelConfig): ModelFamily {
  return getFamily(config.maskwise_arch, "config.json: maskwise_arch");
}

/** Checks and completes a config.json object with the family it belongs to. */
export function resolveModelConfig(
  raw: Readonly<Record<string, unknown>>,
  source: string,
): ModelConfig {
  return familyOfRaw(raw, source).resolveConfig(raw, source);
}

/** A model with seeded random weights, of the family its config names. */
export function buildModel(config: ModelConfig, seed = 0): FamilyModel {
  return familyOf(config).build(config, seed);
}

/**
 * The family to train for a task or an objective: `preferred` when given (it must support it),
 * else the first registered family that does.
 */
export function familyFor(
  job: { task: string } | { objective: string },
  preferred?: string,
  where = "model family",
): ModelFamily {
  const [what, value, supports] =
    "task" in job
      ? (["task", job.task, (f: ModelFamily) => f.tasks.includes(job.task)] as const)
      : ([
          "objective",
          job.objective,
          (f: ModelFamily) => f.objectives.includes(job.objective),
        ] as const);
  const able = families().filter(supports);
  if (preferred !== undefined) {
    const f = getFamily(preferred, where);
    if (!supports(f)) {
      throw new MaskwiseError(`a ${f.name} model does not train on the ${what} '${value}'`, {
        code: "E_ARG",
        where,
        hint: able.length
          ? `families that do: ${names(able)}`
          : `no family trains on the ${what} '${value}'`,
      });
    }
    return f;
  }
  const f = able[0];
  if (!f) {
    throw new MaskwiseError(`no model family trains on the ${what} '${value}'`, {
      code: "E_ARG",
      where,
      hint: `known families: ${names(families())}`,
    });
  }
  return f;
}
