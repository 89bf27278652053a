// tokenizer.json decoders: ByteLevel, Metaspace, WordPiece, BPEDecoder, ByteFallback, Fuse,
// Strip, Replace, CTC and Sequence. As in tokenizers, each maps the list of token strings to a
// new list (decode_chain) and the final text is their concatenation.
import { byteFallbackDecode } from "./byte-fallback.js";
import { byteLevelDecode } from "./byte-level.js";
import { type ComponentSource, isObj, patternRegex, unsupported } from "./json-util.js";
import { regexMatches } from "./normalized-string.js";
import { wordPieceDecode } from "./wordpiece-model.js";

export type DecodeFn = (tokens: string[]) => string[];

function strip(token: string, content: string, start: number, stop: number): string {
  const chars = Array.from(token);
  let s = 0;
  while (s < start && s < chars.length && chars[s] === content) s++;
  let e = chars.length;
  for (let k = 0; k < stop && e > s && chars[e - 1] === content; k++) e--;
  return chars.slice(s, e).join("");
}

export function parseDecoder(d: unknown, src: ComponentSource): DecodeFn | null {
  if (d === null || d === undefined) return null;
  if (!isObj(d)) return unsupported(src, "decoder", d);
  switch (d.type) {
    case "ByteLevel":
      return (tokens) => [byteLevelDecode(tokens)];
    case "Metaspace": {
      const rep = String(d.replacement ?? "\u2581");
      let scheme = String(d.prepend_scheme ?? "always");
      if (d.add_prefix_space === false) scheme = "never";
      // The first token's marker stands for the space the pre-tokenizer prepended.
      return (tokens) =>
        tokens.map((t, i) => t.replaceAll(rep, i === 0 && scheme !== "never" ? "" : " "));
    }
    case "WordPiece": {
      const prefix = String(d.prefix ?? "##");
      const cleanup = d.cleanup !== false;
      return (tokens) => [wordPieceDecode(tokens, prefix, cleanup)];
    }
    case "BPEDecoder": {
      const suffix = String(d.suffix ?? "</w>");
      return (tokens) =>
        tokens.map((t, i) => t.replaceAll(suffix, i === tokens.length - 1 ? "" : " "));
    }
    case "ByteFallback":
      return byteFallbackDecode;
    case "Fuse":
      return (tokens) => [tokens.join("")];
    case "Strip": {
      const content = String(d.content ?? " ");
      const start = Number(d.start ?? 0);
      const stop = Number(d.stop ?? 0);
      return (tokens) => tokens.map((t) => strip(t, content, start, stop));
    }
    case "Replace": {
      const re = patternRegex(d.pattern, src, "decoder.pattern");
      const content = String(d.content ?? "");
      return (tokens) =>
        tokens.map((t) => {
          let out = "";
          for (const [s, e, m] of regexMatches(t, re)) out += m ? content : t.slice(s, e);
          return out;
        });
    }
    case "CTC": {
      const pad = String(d.pad_token ?? "<pad>");
      const delimiter = String(d.word_delimiter_token ?? "|");
      const cleanup = d.cleanup !== false;
      return (tokens) => {
        const out: string[] = [];
        tokens.forEach((t, i) => {
          if (i > 0 && tokens[i - 1] === t) return;
          let s = t.replaceAll(pad, "");
          if (cleanup) s = wordPieceDecode([s], "\u0000", true).replaceAll(delimiter, " ");
          if (s.length > 0) out.push(s);
        });
        return out;
      };
    }
    case "Sequence": {
      if (!Array.isArray(d.decoders)) return unsupported(src, "decoder", d);
      const steps = d.decoders
        .map((x) => parseDecoder(x, src))
        .filter((f): f is DecodeFn => f !== null);
      return (tokens) => {
        let cur = tokens;
        for (const f of steps) cur = f(cur);
        return cur;
      };
    }
    default:
      return unsupported(src, "decoder", d);
  }
}
