// sacreBLEU's reproducibility signatures: `key:value` pairs joined by `|`, in sacreBLEU's own key
// order, with `version` last. The version is the sacreBLEU release whose definitions this module
// reproduces (and whose figures the tests check), so a score printed here can be compared with a
// score printed by that sacreBLEU.
//   BLEU: nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0
//   chrF: nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0
import { pyFixed } from "./pystr.js";

/** The sacreBLEU release these metrics agree with. */
export const SACREBLEU_VERSION = "2.6.0";

/** The reference count: a number, or `var` when segments have different numbers of them. */
export type NRefs = number | "var";

export type SmoothMethod = "exp" | "floor" | "add-k" | "none";

/** The value each smoothing method uses when none is given (Chen and Cherry, 2014). */
export const SMOOTH_DEFAULTS: Record<SmoothMethod, number | null> = {
  none: null,
  floor: 0.1,
  "add-k": 1,
  exp: null,
};

function join(pairs: [string, string | number][]): string {
  return pairs.map(([k, v]) => `${k}:${v}`).join("|");
}

export interface BleuSignatureArgs {
  nrefs: NRefs;
  lowercase: boolean;
  effectiveOrder: boolean;
  tokenize: string;
  smoothMethod: SmoothMethod;
  smoothValue?: number | null;
}

/** The BLEU signature; floor and add-k carry their value as `floor[0.10]`, `add-k[1.00]`. */
export function bleuSignature(a: BleuSignatureArgs): string {
  let smooth: string = a.smoothMethod;
  const def = SMOOTH_DEFAULTS[a.smoothMethod];
  if (def !== null) smooth += `[${pyFixed(a.smoothValue ?? def, 2)}]`;
  return join([
    ["nrefs", a.nrefs],
    ["case", a.lowercase ? "lc" : "mixed"],
    ["eff", a.effectiveOrder ? "yes" : "no"],
    ["tok", a.tokenize],
    ["smooth", smooth],
    ["version", SACREBLEU_VERSION],
  ]);
}

export interface ChrfSignatureArgs {
  nrefs: NRefs;
  lowercase: boolean;
  charOrder: number;
  wordOrder: number;
  whitespace: boolean;
  epsSmoothing: boolean;
}

/** The chrF signature; `eff:yes` means effective-order averaging (no epsilon smoothing). */
export function chrfSignature(a: ChrfSignatureArgs): string {
  return join([
    ["nrefs", a.nrefs],
    ["case", a.lowercase ? "lc" : "mixed"],
    ["eff", a.epsSmoothing ? "no" : "yes"],
    ["nc", a.charOrder],
    ["nw", a.wordOrder],
    ["space", a.whitespace ? "yes" : "no"],
    ["version", SACREBLEU_VERSION],
  ]);
}
