// tokenizer.json post-processors: TemplateProcessing, BertProcessing, RobertaProcessing,
// ByteLevel (offset trimming) and Sequence. They join the encodings of a text and its pair,
// give type ids, and, when special tokens are asked for, wrap them (offsets (0, 0)).
import { BYTE_TO_CHAR } from "./byte-level.js";
import { type ComponentSource, fail, isObj, unsupported } from "./json-util.js";
import { isWhitespace } from "./normalized-string.js";

/** A sequence's tokens as the pipeline builds them; offsets in code units of its own text. */
export interface EncodingParts {
  ids: number[];
  tokens: string[];
  offsets: [number, number][];
  typeIds: number[];
  specialTokensMask: number[];
}

export type PostProcessFn = ((
  a: EncodingParts,
  b: EncodingParts | null,
  addSpecialTokens: boolean,
) => EncodingParts) & {
  /** Set on steps that only adjust each sequence (ByteLevel) and join nothing. */
  perSequence?: (e: EncodingParts) => void;
};

export const emptyParts = (): EncodingParts => ({
  ids: [],
  tokens: [],
  offsets: [],
  typeIds: [],
  specialTokensMask: [],
});

function push(out: EncodingParts, e: EncodingParts, typeId?: number): void {
  for (let i = 0; i < e.ids.length; i++) {
    out.ids.push(e.ids[i]);
    out.tokens.push(e.tokens[i]);
    out.offsets.push(e.offsets[i]);
    out.typeIds.push(typeId ?? e.typeIds[i]);
    out.specialTokensMask.push(e.specialTokensMask[i]);
  }
}

function pushSpecial(out: EncodingParts, id: number, token: string, typeId: number): void {
  out.ids.push(id);
  out.tokens.push(token);
  out.offsets.push([0, 0]);
  out.typeIds.push(typeId);
  out.specialTokensMask.push(1);
}

/** With no post-processor: the pair follows the text, each keeping its own type ids. */
export const concatParts: PostProcessFn = (a, b) => {
  const out = emptyParts();
  push(out, a);
  if (b !== null) push(out, b);
  return out;
};

const SPACE_CHAR = BYTE_TO_CHAR[0x20];

/** ByteLevel's trim_offsets: a token's offsets leave out its leading and trailing spaces. */
export function trimByteLevelOffsets(e: EncodingParts, addPrefixSpace: boolean): void {
  e.tokens.forEach((token, i) => {
    const chars = Array.from(token);
    const isSpace = (c: string) => c === SPACE_CHAR || isWhitespace(c);
    let lead = 0;
    while (lead < chars.length && isSpace(chars[lead])) lead++;
    let trail = 0;
    while (trail < chars.length && isSpace(chars[chars.length - 1 - trail])) trail++;
    if (lead === 0 && trail === 0) return;
    const o = e.offsets[i];
    let [s, t] = o;
    if (lead > 0) {
      const first = i === 0 || s === 0;
      if (first && addPrefixSpace && lead === 1) lead = 0;
      s = Math.min(s + lead, t);
    }
    if (trail > 0 && t >= trail) t = Math.max(t - trail, s);
    e.offsets[i] = [s, t];
  });
}

interface TemplatePiece {
  special?: string;
  sequence?: "A" | "B";
  typeId: number;
}

function parseTemplate(x: unknown, src: ComponentSource, where: string): TemplatePiece[] {
  if (!Array.isArray(x)) return fail(src, where, `${where} is not a list`, "check the file");
  return x.map((it, i) => {
    if (isObj(it) && isObj(it.SpecialToken) && typeof it.SpecialToken.id === "string")
      return { special: it.SpecialToken.id, typeId: Number(it.SpecialToken.type_id ?? 0) };
    if (isObj(it) && isObj(it.Sequence) && (it.Sequence.id === "A" || it.Sequence.id === "B"))
      return { sequence: it.Sequence.id, typeId: Number(it.Sequence.type_id ?? 0) };
    return fail(
      src,
      `${where}[${i}]`,
      "template item is neither SpecialToken nor Sequence",
      "fix it",
    );
  });
}

export function parsePostProcessor(
  p: unknown,
  src: ComponentSource,
  tokenId: (t: string) => number | undefined,
): PostProcessFn | null {
  if (p === null || p === undefined) return null;
  if (!isObj(p)) return unsupported(src, "post_processor", p);
  switch (p.type) {
    case "TemplateProcessing": {
      const single = parseTemplate(p.single, src, "post_processor.single");
      const pair = parseTemplate(p.pair ?? [], src, "post_processor.pair");
      const specials = new Map<string, { ids: number[]; tokens: string[] }>();
      const table = isObj(p.special_tokens) ? p.special_tokens : {};
      for (const [name, v] of Object.entries(table)) {
        if (isObj(v) && Array.isArray(v.ids) && Array.isArray(v.tokens))
          specials.set(name, { ids: v.ids.map(Number), tokens: v.tokens.map(String) });
      }
      for (const it of [...single, ...pair]) {
        if (it.special === undefined || specials.has(it.special)) continue;
        const id = tokenId(it.special);
        if (id === undefined)
          fail(
            src,
            "post_processor",
            `template token "${it.special}" is unknown`,
            "add it to special_tokens",
          );
        specials.set(it.special, { ids: [id], tokens: [it.special] });
      }
      return (a, b, add) => {
        const out = emptyParts();
        for (const it of b === null ? single : pair) {
          if (it.special !== undefined) {
            if (!add) continue;
            const sp = specials.get(it.special) as { ids: number[]; tokens: string[] };
            for (let k = 0; k < sp.ids.length; k++)
              pushSpecial(out, sp.ids[k], sp.tokens[k], it.typeId);
          } else {
            const seq = it.sequence === "A" ? a : b;
            if (seq !== null) push(out, seq, it.typeId);
          }
        }
        return out;
      };
    }
    case "BertProcessing":
    case "RobertaProcessing": {
      const pairOf = (x: unknown, name: string): [string, number] => {
        if (Array.isArray(x) && typeof x[0] === "string" && typeof x[1] === "number")
          return [x[0], x[1]];
        return fail(src, `post_processor.${name}`, `${name} is not [token, id]`, "check the file");
      };
      const [sepTok, sepId] = pairOf(p.sep, "sep");
      const [clsTok, clsId] = pairOf(p.cls, "cls");
      if (p.type === "BertProcessing") {
        return (a, b, add) => {
          const out = emptyParts();
          if (add) pushSpecial(out, clsId, clsTok, 0);
          push(out, a, 0);
          if (add) pushSpecial(out, sepId, sepTok, 0);
          if (b !== null) {
            push(out, b, 1);
            if (add) pushSpecial(out, sepId, sepTok, 1);
          }
          return out;
        };
      }
      const trim = p.trim_offsets !== false;
      const prefix = p.add_prefix_space !== false;
      return (a, b, add) => {
        if (trim) {
          trimByteLevelOffsets(a, prefix);
          if (b !== null) trimByteLevelOffsets(b, prefix);
        }
        const out = emptyParts();
        if (add) pushSpecial(out, clsId, clsTok, 0);
        push(out, a, 0);
        if (add) pushSpecial(out, sepId, sepTok, 0);
        if (b !== null) {
          if (add) pushSpecial(out, sepId, sepTok, 0);
          push(out, b, 0);
          if (add) pushSpecial(out, sepId, sepTok, 0);
        }
        return out;
      };
    }
    case "ByteLevel": {
      const trim = p.trim_offsets !== false;
      const prefix = p.add_prefix_space !== false;
      const perSequence = (e: EncodingParts) => {
        if (trim) trimByteLevelOffsets(e, prefix);
      };
      const f: PostProcessFn = (a, b, add) => {
        perSequence(a);
        if (b !== null) perSequence(b);
        return concatParts(a, b, add);
      };
      f.perSequence = perSequence;
      return f;
    }
    case "Sequence": {
      if (!Array.isArray(p.processors)) return unsupported(src, "post_processor", p);
      const steps = p.processors
        .map((x) => parsePostProcessor(x, src, tokenId))
        .filter((f): f is PostProcessFn => f !== null);
      // As tokenizers passes the list of encodings along: ByteLevel adjusts each sequence, a
      // template joins them; whatever is left unjoined is concatenated at the end.
      return (a, b, add) => {
        let first = a;
        let second = b;
        for (const f of steps) {
          if (f.perSequence) {
            f.perSequence(first);
            if (second !== null) f.perSequence(second);
          } else {
            first = f(first, second, add);
            second = null;
          }
        }
        return concatParts(first, second, add);
      };
    }
    default:
      return unsupported(src, "post_processor", p);
  }
}
