// The SentencePiece word-boundary convention (Kudo & Richardson 2018) as Hugging Face's
// `Metaspace` pre-tokenizer and decoder write it: every space becomes `▁` (U+2581), one `▁` is
// prepended when the text does not already start with one (prepend_scheme "always"), and the text
// is split before each `▁` so a word carries its own boundary marker ("MergedWithNext").

export const METASPACE = "\u2581";

/** Splits normalised text into words, each starting with `▁` where a space was. */
export function metaspaceSplit(text: string): string[] {
  if (text.length === 0) return [];
  let s = text.replaceAll(" ", METASPACE);
  if (!s.startsWith(METASPACE)) s = METASPACE + s;
  const words: string[] = [];
  let start = 0;
  for (let i = 1; i < s.length; i++) {
    if (s.charCodeAt(i) === 0x2581) {
      words.push(s.slice(start, i));
      start = i;
    }
  }
  words.push(s.slice(start));
  return words;
}

/**
 * Joins tokens back into text: `▁` becomes a space, and the space the pre-tokenizer prepended is
 * dropped from the first token (so a leading space in the input is not restored).
 */
export function metaspaceDecode(tokens: readonly string[]): string {
  let out = "";
  for (let i = 0; i < tokens.length; i++) {
    let t = tokens[i].replaceAll(METASPACE, " ");
    if (i === 0 && t.startsWith(" ")) t = t.slice(1);
    out += t;
  }
  return out;
}

export const metaspaceJson = {
  type: "Metaspace",
  replacement: METASPACE,
  prepend_scheme: "always",
  split: true,
} as const;
