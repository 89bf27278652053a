// sacreBLEU's default `13a` tokenizer: mteval-v13a.pl's normalisation, which WMT has used for its
// official BLEU since 2009. Its input is detokenized text; it splits punctuation off words.
import { tokenizeRe } from "./tokenize-re.js";

/**
 * Tokenizes one segment as mteval-v13a does: drop `<skipped>`, join lines, unescape four
 * HTML entities, pad with a space on each side (so a final period splits off even after a
 * digit), then apply the shared punctuation rules.
 */
export function tokenize13a(line: string): string {
  let s = line.replaceAll("<skipped>", "").replaceAll("-\n", "").replaceAll("\n", " ");
  if (s.includes("&")) {
    s = s
      .replaceAll("&quot;", '"')
      .replaceAll("&amp;", "&")
      .replaceAll("&lt;", "<")
      .replaceAll("&gt;", ">");
  }
  return tokenizeRe(` ${s} `);
}
