// Tied tensors: names that stand for one tensor (BART's lm_head.weight and both embed_tokens are
// model.shared.weight; GPT-2's lm_head.weight is transformer.wte.weight; BERT's decoder bias is
// cls.predictions.bias). save_pretrained writes each group once, under the name it keeps, and
// leaves the others out of the file; a loader must put them back, and a writer that wants HF's
// files must leave them out again. Families give their groups as data; this file knows no family.
import { MaskwiseError } from "../util/errors.js";
import type { SafeTensor } from "./safetensors.js";

/** One tensor under several names: `keep` is the name HF writes, `tied` the ones it leaves out. */
export interface TieGroup {
  keep: string;
  tied: string[];
}

/**
 * Groups from lines such as "lm_head.weight = model.shared.weight" (tied name = kept name), as
 * `omitted_from_state_dict` and model cards write them. Lines naming the same kept tensor join
 * one group.
 */
export function parseTieGroups(lines: readonly string[]): TieGroup[] {
  const groups = new Map<string, string[]>();
  for (const line of lines) {
    const m = /^\s*([^\s=]+)\s*=\s*([^\s=]+)\s*$/.exec(line);
    if (!m || m[1] === m[2]) {
      throw new MaskwiseError(`tie "${line}" is not "tied.name = kept.name"`, {
        code: "E_TIE",
        where: "parseTieGroups",
      });
    }
    const list = groups.get(m[2]) ?? [];
    list.push(m[1]);
    groups.set(m[2], list);
  }
  return [...groups].map(([keep, tied]) => ({ keep, tied }));
}

function sameValues(a: SafeTensor, b: SafeTensor): boolean {
  if (a.data === b.data) return true;
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return false;
  if (a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (!Object.is(a.data[i], b.data[i])) return false;
  return true;
}

export interface RestoredTies {
  /** Every tensor of the input plus the tied names that were missing. */
  tensors: Map<string, SafeTensor>;
  /** The names added, each pointing at the same SafeTensor object as its group's kept tensor. */
  restored: string[];
  /**
   * Names present in the file with values different from their group: kept as they are (HF warns
   * and leaves such a tensor untied), listed so the caller can untie or refuse.
   */
  untied: string[];
}

/**
 * Puts back the names save_pretrained left out. The value of a group is its kept name's tensor,
 * or when a file holds only one of the tied names (older checkpoints, .bin files), that one; each
 * missing name then refers to the same SafeTensor object, so a model that ties them loads one
 * tensor. A group with no name in the file is left alone: the caller's missing-tensor check
 * reports it.
 */
export function restoreTied(
  tensors: ReadonlyMap<string, SafeTensor>,
  groups: readonly TieGroup[],
): RestoredTies {
  const out = new Map(tensors);
  const restored: string[] = [];
  const untied: string[] = [];
  for (const g of groups) {
    const names = [g.keep, ...g.tied];
    const value = names.map((n) => tensors.get(n)).find((t) => t !== undefined);
    if (!value) continue;
    for (const n of names) {
      const t = tensors.get(n);
      if (!t) {
        out.set(n, value);
        restored.push(n);
      } else if (!sameValues(t, value)) untied.push(n);
    }
  }
  return { tensors: out, restored, untied };
}

export interface DroppedTies {
  tensors: Map<string, SafeTensor>;
  /** The tied names left out (their values equal the kept tensor's). */
  dropped: string[];
}

/**
 * What save_pretrained writes for tied groups: each group's kept name only. A tied name whose
 * values differ from the kept tensor is not a tie any more and stays in; a group whose kept name
 * is absent is an error, since dropping its copies would lose the tensor.
 */
export function dropTied(
  tensors: ReadonlyMap<string, SafeTensor>,
  groups: readonly TieGroup[],
): DroppedTies {
  const out = new Map(tensors);
  const dropped: string[] = [];
  for (const g of groups) {
    const kept = tensors.get(g.keep);
    if (!kept) {
      if (g.tied.some((n) => tensors.has(n))) {
        throw new MaskwiseError(`tied tensor '${g.keep}' is missing but its copies are present`, {
          code: "E_TIE",
          where: g.tied.filter((n) => tensors.has(n)).join(", "),
          hint: "restore the ties first (restoreTied), or name the kept tensor in the tie group",
        });
      }
      continue;
    }
    for (const n of g.tied) {
      const t = tensors.get(n);
      if (t && sameValues(t, kept)) {
        out.delete(n);
        dropped.push(n);
      }
    }
  }
  return { tensors: out, dropped };
}
