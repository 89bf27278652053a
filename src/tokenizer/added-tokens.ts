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
  private readonly byFirst = new Map<string, AddedToken[]>();

  constructor(tokens: readonly AddedToken[]) {
    for (const t of tokens) {
      if (t.content.length === 0) continue;
      const first = t.content[0];
      const list = this.byFirst.get(first) ?? [];
      list.push(t);
      this.byFirst.set(first, list);
    }
    for (const list of this.byFirst.values())
      list.sort((a, b) => b.content.length - a.content.length);
  }

  split(text: string): Piece[] {
    if (this.byFirst.size === 0) return text.length > 0 ? [{ text }] : [];
    const pieces: Piece[] = [];
    let start = 0;
    let i = 0;
    while (i < text.length) {
      const list = this.byFirst.get(text[i]);
      const hit = list?.find((t) => text.startsWith(t.content, i));
      if (hit === undefined) {
        i++;
        continue;
      }
      if (i > start) pieces.push({ text: text.slice(start, i) });
      pieces.push({ id: hit.id });
      i += hit.content.length;
      start = i;
    }
    if (start < text.length) pieces.push({ text: text.slice(start) });
    return pieces;
  }
}
