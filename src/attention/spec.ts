// Mask specs as `maskwise masks show --spec` takes them: names combined with `&` and `|`, where
// `&` binds tighter (`causal & padding | prefix` = `(causal & padding) | prefix`). The names:
//   causal     query i (at position i + offset) sees keys 0 .. i + offset
//   padding    key j of row b is real when j < lengths[b]
//   window     causal sliding window of W keys (itself and W - 1 before)
//   prefix     keys before P are seen by every query
//   documents  a query sees keys of its own segment
import { MaskwiseError } from "../util/errors.js";
import {
  type AttendMask,
  and,
  causal,
  documents,
  keyPadding,
  or,
  prefix,
  slidingWindow,
} from "./masks.js";

export interface SpecParams {
  lengths?: number[];
  offset?: number;
  window?: number;
  prefix?: number;
  segments?: number[];
}

export const SPEC_NAMES = ["causal", "padding", "window", "prefix", "documents"] as const;

function need<T>(value: T | undefined, name: string, flag: string, spec: string): T {
  if (value === undefined) {
    throw new MaskwiseError(`'${name}' needs ${flag}`, {
      code: "E_ARG",
      where: `--spec ${spec}`,
      hint: `add ${flag}`,
    });
  }
  return value;
}

function atom(name: string, p: SpecParams, spec: string): AttendMask {
  const offset = p.offset ?? 0;
  switch (name) {
    case "causal":
      return causal(offset);
    case "padding":
      return keyPadding(need(p.lengths, name, "--lengths a,b,…", spec));
    case "window":
      return slidingWindow(need(p.window, name, "--window W", spec), offset);
    case "prefix":
      return prefix(need(p.prefix, name, "--prefix P", spec));
    case "documents":
      return documents(need(p.segments, name, "--segments 0,0,1,…", spec), offset);
    default:
      throw new MaskwiseError(`unknown mask '${name}'`, {
        code: "E_ARG",
        where: `--spec ${spec}`,
        hint: `use ${SPEC_NAMES.join(", ")} joined by & and |`,
      });
  }
}

/** Parses a spec into a mask. */
export function parseMaskSpec(spec: string, params: SpecParams = {}): AttendMask {
  const text = spec.trim();
  if (text === "") {
    throw new MaskwiseError("empty mask spec", {
      code: "E_ARG",
      where: "--spec",
      hint: `use ${SPEC_NAMES.join(", ")}`,
    });
  }
  const alternatives = text.split("|").map((alt) => {
    const names = alt.split("&").map((s) => s.trim());
    if (names.some((n) => n === "")) {
      throw new MaskwiseError("an operator is missing a mask on one side", {
        code: "E_ARG",
        where: `--spec ${spec}`,
      });
    }
    return and(...names.map((n) => atom(n, params, spec)));
  });
  return or(...alternatives);
}
