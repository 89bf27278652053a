// What maskwise's own three families share: one config (../../config.ts, its keys those of
// transformers' BART), named by `maskwise_arch`, and strict about unknown keys, since these
// config.json files are written by maskwise or by hand (a typo must not become a default).
import { type Arch, type ModelConfig, resolveConfig } from "../config.js";
import { AS_NAMED, type FileLayout } from "./file-layout.js";

/** Whether a config.json object names `arch` (no maskwise_arch and no model_type: encoder-decoder). */
export function claimsOwn(arch: Arch, raw: Readonly<Record<string, unknown>>): boolean {
  const named = raw.maskwise_arch;
  if (named !== undefined) return named === arch;
  return arch === "encoder-decoder" && raw.model_type === undefined;
}

/** The own config with `maskwise_arch` filled in from the family. */
export function resolveOwn(
  arch: Arch,
  raw: Readonly<Record<string, unknown>>,
  source: string,
): ReturnType<typeof resolveConfig> {
  return resolveConfig({ ...raw, maskwise_arch: arch }, source);
}

/** An own config as config.json holds it: every key, as resolved. */
export function ownConfigJson(config: ModelConfig): Record<string, unknown> {
  return { ...config };
}

/** Own directories store every name a tensor has. */
export function ownLayout(): FileLayout {
  return AS_NAMED;
}
