// Special tokens are matched in the raw text before normalisation (Hugging Face's added tokens
// with normalized: false), so `<mask>` in a line becomes one id and the text around it is
// tokenized on its own. Among tokens that match at the same place the longest wins, and matching
// resumes after it (the leftmost-longest rule of the Rust side's Aho-Corasick automaton).

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

/** One piece of the input: plain text to tokenize, or an added token's id. */
export type Piece = { text: string } | { id: number };

export class AddedTokenMatcher {
  /** Alternatives longest first: a regular expression takes the first alternative that matches
   * at the leftmost position, which is then the longest one there. */
  private readonly re: RegExp | null;
  private readonly ids = new Map<string, number>();

  constructor(tokens: readonly AddedToken[]) {
    const contents = tokens.map((t) => t.content).filter((c) => c.length > 0);
    for (const t of tokens) if (!this.ids.has(t.content)) this.ids.set(t.content, t.id);
    contents.sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
    const escaped = contents.map((c) => c.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&"));
    this.re = contents.length > 0 ? new RegExp(escaped.join("|"), "g") : null;
  }

  split(text: string): Piece[] {
    if (this.re === null) return text.length > 0 ? [{ text }] : [];
    const pieces: Piece[] = [];
    let start = 0;
    for (const m of text.matchAll(this.re)) {
      const at = m.index as number;
      if (at > start) pieces.push({ text: text.slice(start, at) });
      pieces.push({ id: this.ids.get(m[0]) as number });
      start = at + m[0].length;
    }
    if (start < text.length) pieces.push({ text: text.slice(start) });
    return pieces;
  }
}
