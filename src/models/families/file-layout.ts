// How a family's weight files name its tensors, against the names of its model's parameters.
// transformers stores a tensor that several modules share (tied weights) once, under the first
// name of its tie group, and leaves the others out of the file; maskwise's modules list a tied
// tensor under every name they use. Reading restores the left-out names (any present member of
// a group stands for all, as transformers accepts) and drops file-only names; writing stores
// each group once under its first name. Where transformers names a module otherwise than
// maskwise's layers do (BERT's attention.self.query for self_attn.q_proj), renames map a name
// prefix one way and back.
import { MaskwiseError } from "../../util/errors.js";

export interface StoredTensor {
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

export interface FileLayout {
  /** Model names holding one tensor; the file stores the first (under its file name). */
  readonly tieGroups: readonly (readonly string[])[];
  /**
   * [file prefix, model prefix] pairs, `*` standing for a layer number; a name no pair matches
   * is the same in both.
   */
  readonly renames?: readonly (readonly [string, string])[];
  /** File names that are not the model's and are skipped on load (buffers of older files). */
  readonly ignore?: readonly RegExp[];
  /**
   * The file's tensor order: the model's (maskwise's own directories), or transformers' (by
   * dtype, then name), so a file written back is byte for byte the file transformers writes.
   */
  readonly order?: "model" | "transformers";
  /**
   * Tensors stored in another shape than the model's (GPT-2's Conv1D weights [in, out], its fused
   * q|k|v projection): `load` turns the file's tensors (file names) into one tensor per model
   * parameter (still file names), `save` the other way.
   */
  readonly reshape?: {
    load(tensors: Map<string, StoredTensor>): Map<string, StoredTensor>;
    save(tensors: Map<string, StoredTensor>): Map<string, StoredTensor>;
  };
}

const compiled = new Map<string, RegExp>();

/** A prefix pattern as a regular expression over whole names (the prefix, then .suffix or nothing). */
function prefixRe(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
    re = new RegExp(`^${escaped.replace("*", "(\\d+)")}(\\..+)?$`);
    compiled.set(pattern, re);
  }
  return re;
}

/**
 * Renames `name` (a tensor's or a module's) by the first pair whose `from` side matches (index 0:
 * file to model, 1: model to file).
 */
export function rename(name: string, layout: FileLayout, from: 0 | 1): string {
  for (const pair of layout.renames ?? []) {
    const m = prefixRe(pair[from]).exec(name);
    if (!m) continue;
    const hasIndex = pair[from].includes("*");
    const index = hasIndex ? m[1] : "";
    const rest = (hasIndex ? m[2] : m[1]) ?? "";
    return pair[1 - from].replace("*", index) + rest;
  }
  return name;
}

/** No ties beyond the model's own names: maskwise's own directories list every name. */
export const AS_NAMED: FileLayout = { tieGroups: [] };

/** The model's tensors from a file's: tie groups restored, names the model lacks dropped. */
export function fromFile(
  file: ReadonlyMap<string, StoredTensor>,
  layout: FileLayout,
  modelNames: ReadonlySet<string>,
  source: string,
): Map<string, StoredTensor> {
  let kept = new Map<string, StoredTensor>();
  for (const [name, t] of file) if (!layout.ignore?.some((re) => re.test(name))) kept.set(name, t);
  if (layout.reshape) kept = layout.reshape.load(kept);
  const out = new Map<string, StoredTensor>();
  for (const [name, t] of kept) out.set(rename(name, layout, 0), t);
  for (const group of layout.tieGroups) {
    const present = group.find((n) => out.has(n));
    if (present === undefined) {
      const wanted = group.filter((n) => modelNames.has(n));
      if (wanted.length === 0) continue;
      throw new MaskwiseError(`missing tensor '${group[0]}' (or any of ${group.join(", ")})`, {
        code: "E_CHECKPOINT",
        where: source,
        hint: "the weights file does not match this model's config",
      });
    }
    const t = out.get(present) as StoredTensor;
    for (const n of group) if (!out.has(n)) out.set(n, t);
  }
  const fileOnly = new Set(layout.tieGroups.flat().filter((n) => !modelNames.has(n)));
  for (const n of fileOnly) out.delete(n);
  return out;
}

/** A file's tensors from the model's named parameters: each tie group once, under its first name. */
export function toFile(
  named: readonly (readonly [string, StoredTensor])[],
  layout: FileLayout,
): [string, StoredTensor][] {
  const byName = new Map(named);
  const out = new Map<string, StoredTensor>(named.map(([n, t]) => [n, t]));
  for (const group of layout.tieGroups) {
    const member = group.find((n) => byName.has(n));
    if (member === undefined) continue;
    for (const n of group) out.delete(n);
    out.set(group[0], byName.get(member) as StoredTensor);
  }
  const renamed = new Map([...out.entries()].map(([n, t]) => [rename(n, layout, 1), t]));
  return [...(layout.reshape ? layout.reshape.save(renamed) : renamed).entries()];
}
