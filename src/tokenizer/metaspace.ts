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
 * Joins tokens back into text: `▁` becomes a space, except in the first token, where it is
 * dropped (it stands for the space the pre-tokenizer prepended), as the Rust decoder does.
 */
export function metaspaceDecode(tokens: readonly string[]): string {
  let out = tokens.length > 0 ? tokens[0].replaceAll(METASPACE, "") : "";
  for (let i = 1; i < tokens.length; i++) out += tokens[i].replaceAll(METASPACE, " ");
  return out;
}

export const metaspaceJson = {
  type: "Metaspace",
  replacement: METASPACE,
  prepend_scheme: "always",
  split: true,
} as const;
