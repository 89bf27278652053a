// Freezing parts of a model for fine-tuning: a frozen parameter gets no gradient (the tape skips
// it), no update and no weight decay (it is left out of the optimizer), so its values stay
// bit-identical. Tied and shared tensors are one parameter: freezing the embeddings of a model
// whose output projection is the embedding freezes that projection too.
import type { Module } from "../nn/module.js";
import type { Tensor } from "../tensor/tensor.js";
import { MaskwiseError } from "../util/errors.js";

export const FREEZE_GROUPS = ["encoder", "decoder", "embeddings"] as const;
export type FreezeGroup = (typeof FREEZE_GROUPS)[number];

function inGroup(name: string, group: FreezeGroup): boolean {
  if (group === "encoder") return name.startsWith("model.encoder.");
  if (group === "decoder") return name.startsWith("model.decoder.");
  return /(^|\.)embed_(tokens|positions)\./.test(name);
}

/** Marks the parameters of `groups` as frozen; returns them (each tensor once). */
export function freezeParameters(model: Module, groups: readonly string[]): Set<Tensor> {
  const frozen = new Set<Tensor>();
  for (const g of groups) {
    if (!(FREEZE_GROUPS as readonly string[]).includes(g)) {
      throw new MaskwiseError(`cannot freeze '${g}'`, {
        code: "E_ARG",
        where: "--freeze",
        hint: `use a comma list of ${FREEZE_GROUPS.join(", ")}`,
      });
    }
    let any = false;
    for (const [name, p] of model.namedParameters()) {
      if (!inGroup(name, g as FreezeGroup)) continue;
      any = true;
      frozen.add(p);
    }
    if (!any) {
      throw new MaskwiseError(`this model has no ${g} to freeze`, {
        code: "E_ARG",
        where: "--freeze",
        hint: `an encoder-only model has no decoder, a decoder-only model no encoder`,
      });
    }
  }
  for (const p of frozen) {
    p.requiresGrad = false;
    p.grad = null;
  }
  return frozen;
}
