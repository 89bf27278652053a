// The tokenizer of a run started from (or resuming) a transformers model directory: the files
// that directory ships (tokenizer.json, a SentencePiece model, or Marian's source.spm/target.spm
// with vocab.json, and tokenizer_config.json beside them), read as transformers reads them, and
// carried byte for byte into every checkpoint so that `translate`, `forward` and transformers'
// `from_pretrained` find the tokenizer the weights were trained with.
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { familyOfRaw } from "../models/registry.js";
import type { ModelTokenizer } from "../tokenizer/model-tokenizer.js";
import { MaskwiseError } from "../util/errors.js";
import { readBytes, readJson } from "./files.js";
import { loadModelTokenizer } from "./tokenizer-files.js";
import { withGenerationConfig } from "./training-setup.js";

/** The files of a model directory that make up its tokenizer (transformers' names). */
const TOKENIZER_FILE =
  /^(tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|added_tokens\.json|vocab\.(json|txt)|merges\.txt|.*\.spm|.*\.model|chat_template\.jinja)$/;

/** The files that name a tokenizer by themselves (tokenizer_config.json alone does not). */
const TOKENIZER_CORE = /^(tokenizer\.json|source\.spm|.*\.model)$/;

export interface PretrainedRunTokenizer {
  tokenizer: ModelTokenizer;
  /** The tokenizer's files by name, as every checkpoint of the run carries them. */
  files: Record<string, Uint8Array>;
  /** Where it was read from. */
  source: string;
}

/** Whether `dir` holds a config.json that a transformers family reads (model_type bart, …). */
export function isTransformersDir(dir: string): boolean {
  const path = join(dir, "config.json");
  if (!existsSync(path) || !statSync(dir).isDirectory()) return false;
  const raw = readJson(path, "config.json") as Record<string, unknown>;
  return familyOfRaw(raw, path).source === "transformers";
}

/** The tokenizer files in `dir`, by name. */
export function tokenizerFilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => TOKENIZER_FILE.test(f))
    .sort();
}

/** Whether `dir` ships a tokenizer maskwise can read (tokenizer.json, a .model, Marian's files). */
export function hasTokenizerFiles(dir: string): boolean {
  return tokenizerFilesIn(dir).some((f) => TOKENIZER_CORE.test(f));
}

/**
 * The tokenizer at `path` (a model directory, a tokenizer.json or a SentencePiece .model) and
 * the files a checkpoint carries for it: a directory's tokenizer files, or the one file named.
 */
export function readPretrainedRunTokenizer(path: string): PretrainedRunTokenizer {
  const tokenizer = loadModelTokenizer(path);
  const files: Record<string, Uint8Array> = {};
  if (statSync(path).isDirectory()) {
    for (const f of tokenizerFilesIn(path)) files[f] = readBytes(join(path, f), f);
  } else {
    const name = basename(path);
    // A tokenizer.json under another name keeps transformers' name in the checkpoint.
    files[name.endsWith(".json") ? "tokenizer.json" : name] = readBytes(path, name);
  }
  return { tokenizer, files, source: path };
}

/**
 * Whether the files of `given` (a tokenizer named by --tokenizer) are files of `own` (the model
 * directory's tokenizer) byte for byte: a tokenizer.json given alone matches the directory's
 * tokenizer.json, whatever else the directory holds.
 */
function sameFiles(given: Record<string, Uint8Array>, own: Record<string, Uint8Array>): boolean {
  const names = Object.keys(given).filter(
    (f) => TOKENIZER_CORE.test(f) || f === "vocab.json" || f === "target.spm",
  );
  return (
    names.length > 0 &&
    names.every((f) => own[f] !== undefined && Buffer.from(given[f]).equals(Buffer.from(own[f])))
  );
}

/**
 * The tokenizer of a run on the transformers directory `dir` (the --init-from model, or the
 * checkpoint a run resumes): `given` (--tokenizer) when the directory ships none, else the
 * directory's own; `given` naming other files than the directory's is refused, since another
 * tokenizer's ids would index the wrong embedding rows.
 */
export function pretrainedRunTokenizer(
  dir: string,
  given: string | undefined,
  flag = "--init-from",
): PretrainedRunTokenizer {
  const own = hasTokenizerFiles(dir) ? readPretrainedRunTokenizer(dir) : null;
  if (given !== undefined) {
    const g = readPretrainedRunTokenizer(given);
    if (own !== null && !sameFiles(g.files, own.files)) {
      throw new MaskwiseError(`the tokenizer ${given} differs from the one in ${dir}`, {
        code: "E_TOKENIZER",
        where: `--tokenizer with ${flag}`,
        hint: "drop --tokenizer: a pretrained model is fine-tuned with its own tokenizer",
      });
    }
    if (own === null) return g;
  }
  if (own === null) {
    // A pretrained model's ids mean its own tokenizer's tokens: a new one would be garbage.
    throw new MaskwiseError(
      `${dir} has no tokenizer.json (nor a SentencePiece .model, nor Marian's source.spm, target.spm and vocab.json)`,
      {
        code: "E_TOKENIZER",
        where: flag,
        hint: "pass the model's tokenizer with --tokenizer (a tokenizer.json, a .model or the directory holding them)",
      },
    );
  }
  return own;
}

/**
 * What every checkpoint of such a run carries: the tokenizer's files as they were, and the
 * generation settings of the directory the run started from (transformers' generate reads them
 * beside the weights).
 */
export function pretrainedCheckpointHooks(
  tok: PretrainedRunTokenizer,
  from: string | undefined,
): { extraFiles: Record<string, Uint8Array | string> } {
  return { extraFiles: withGenerationConfig(tok.files, from) };
}
