// The Rust `tokenizers` package (a dev dependency) as the reference, and the shared corpora.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

export const oracle = createRequire(import.meta.url)("tokenizers") as typeof import("tokenizers");

export const shared = join(import.meta.dirname, "..", "..", "..", "shared");

export function lines(...parts: string[]): string[] {
  const text = readFileSync(join(shared, "data", ...parts), "utf8");
  const out = text.split("\n");
  if (out[out.length - 1] === "") out.pop();
  return out;
}

export const multi30k = (name: string) => lines("multi30k", name);

/** Chinese and English columns of the Tatoeba file (BOM removed). */
export function tatoeba(limit: number): { en: string[]; zh: string[] } {
  const rows = lines("tatoeba-cmn", "cmn.txt").slice(0, limit);
  rows[0] = rows[0].replace(/^\uFEFF/, "");
  const cols = rows.map((r) => r.split("\t"));
  return { en: cols.map((c) => c[0]), zh: cols.map((c) => c[1]) };
}

/** Text that stresses normalisation and pre-tokenization: emoji with modifiers and ZWJ, full-
 * width forms, ligatures, no-break spaces, tabs, digits, apostrophes, mixed scripts. */
export const HARD_TEXT = [
  "Zwei junge weiße Männer sind im Freien in der Nähe vieler Büsche.",
  "Ein Mann mit orangefarbenem Hut, der etwas anstarrt. 😀👍🏽",
  "👩‍👩‍👧‍👦 family 🇩🇪🇨🇳 flags ❤️",
  "我们今天去北京。她说：“你好！” １２３ ＡＢＣ",
  "ﬁne ligature, café vs cafe\u0301, Straße\u00a0und\u2003Weg",
  "it's they're we've I'm you'll he'd   three  spaces\tand a tab ",
  "  leading spaces and trailing  ",
  "",
  " ",
  "<mask> in the middle <mask>, and </s> at the end</s>",
  "numbers 3.14159 and 2026-11-28, émigré ÆØÅ Ωμέγα русский текст العربية हिन्दी",
];
