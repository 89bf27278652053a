// N-gram counting for BLEU and chrF. A word n-gram's key is its words joined by one space, which
// cannot be ambiguous because a word never contains whitespace; each order has its own map, so
// the order of a key never has to be recovered from it.

/** counts[n - 1]: how often each n-gram of order n occurs, for n = 1..maxOrder. */
export type NgramCounts = Map<string, number>[];

/** Word n-grams of orders 1..maxOrder (sacreBLEU's `extract_all_word_ngrams`). */
export function wordNgrams(tokens: readonly string[], maxOrder: number): NgramCounts {
  const out: NgramCounts = [];
  for (let n = 0; n < maxOrder; n++) out.push(new Map());
  const len = tokens.length;
  for (let i = 0; i < len; i++) {
    // Grow the key one word at a time: tokens[i..i+n] for n = 0, 1, ...
    let key = tokens[i];
    const top = Math.min(maxOrder, len - i);
    for (let n = 0; n < top; n++) {
      if (n > 0) key += ` ${tokens[i + n]}`;
      const m = out[n];
      m.set(key, (m.get(key) ?? 0) + 1);
    }
  }
  return out;
}

/** Word n-grams of one order n (sacreBLEU's `extract_word_ngrams`, used by chrF++). */
export function wordNgramsOfOrder(tokens: readonly string[], n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = n === 1 ? tokens[i] : tokens.slice(i, i + n).join(" ");
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  return m;
}

/**
 * Character n-grams of orders 1..maxOrder over code points, as Python slices a `str`
 * (`line[i:i + n]`). Lines without surrogate pairs are sliced directly; others are split into
 * code points first so that an astral character counts as one character.
 */
export function charNgrams(line: string, maxOrder: number): NgramCounts {
  const out: NgramCounts = [];
  for (let n = 0; n < maxOrder; n++) out.push(new Map());
  if (/[\ud800-\udfff]/.test(line)) {
    const cps = Array.from(line);
    for (let i = 0; i < cps.length; i++) {
      let key = "";
      const top = Math.min(maxOrder, cps.length - i);
      for (let n = 0; n < top; n++) {
        key += cps[i + n];
        const m = out[n];
        m.set(key, (m.get(key) ?? 0) + 1);
      }
    }
    return out;
  }
  const len = line.length;
  for (let n = 1; n <= maxOrder; n++) {
    const m = out[n - 1];
    for (let i = 0; i + n <= len; i++) {
      const key = line.slice(i, i + n);
      m.set(key, (m.get(key) ?? 0) + 1);
    }
  }
  return out;
}

/** Sum of a count map's values. */
export function totalCount(m: Map<string, number>): number {
  let s = 0;
  for (const c of m.values()) s += c;
  return s;
}
