// Unicode normalisation before pre-tokenization. NFKC (the default) folds compatibility forms
// (full-width Latin, ligatures, no-break spaces) into their plain characters, as SentencePiece's
// nmt_nfkc does minus its whitespace rules, so "ﬁ" and "fi" share tokens.

export type NormalizerName = "NFC" | "NFD" | "NFKC" | "NFKD" | "Lowercase";

/** Only code units below 0x80 (ASCII). */
const ASCII = /^[^\u0080-\uffff]*$/;

export function normalize(text: string, steps: readonly NormalizerName[]): string {
  // ASCII text is already in every normal form; the check is much cheaper than normalize().
  if (steps.length === 1 && steps[0] !== "Lowercase" && ASCII.test(text)) return text;
  let s = text;
  for (const step of steps) s = step === "Lowercase" ? s.toLowerCase() : s.normalize(step);
  return s;
}

export function normalizerJson(steps: readonly NormalizerName[]): unknown {
  if (steps.length === 0) return null;
  if (steps.length === 1) return { type: steps[0] };
  return { type: "Sequence", normalizers: steps.map((type) => ({ type })) };
}
