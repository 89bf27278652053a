// How a family's weight files name its tensors, against the names of its model's parameters.
// transformers stores a tensor that several modules share (tied weights) once, under the first
// name of its tie group, and leaves the others out of the file; maskwise's modules list a tied
// tensor under every name they use. Reading restores the left-out names (any present member of
// a group stands for all, as transformers accepts) and drops file-only names; writing stores
// each group once under its first name.
import { MaskwiseError } from "../../util/errors.js";

export interface StoredTensor {
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

export interface FileLayout {
  /** Names holding one tensor; the first is the one the file stores. */
  readonly tieGroups: readonly (readonly string[])[];
  /**
   * Names older files hold that the model never reads (transformers ignores them on load): a
   * reader drops them.
   */
  readonly ignoredOnLoad?: readonly string[];
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
  const out = new Map(file);
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
  const fileOnly = new Set(
    [...layout.tieGroups.flat(), ...(layout.ignoredOnLoad ?? [])].filter((n) => !modelNames.has(n)),
  );
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
  return [...out.entries()];
}
