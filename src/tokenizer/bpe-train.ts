// Learning BPE merges from word counts (Sennrich et al. 2016), with incremental pair counts: each
// merge revisits only the words that contain the merged pair, updates the counts of the pairs
// those words gain and lose, and pushes the changed counts onto a lazy max-heap. A merge costs
// time in proportion to the words it touches, not to the corpus, so 8,000 merges on Multi30k take
// about a second.
import { pairKey } from "./bpe-model.js";
import { PairHeap } from "./pair-heap.js";

export interface BpeTrainInput {
  /** Distinct words (as the pre-tokenizer writes them) and how often each occurs. */
  wordCounts: ReadonlyMap<string, number>;
  /** Tokens that come first in the vocabulary (special tokens), ids 0, 1, … */
  leading: readonly string[];
  /** Base symbols, in vocabulary order; other characters are left out of every merge. */
  alphabet: readonly string[];
  /** Stop when the vocabulary (leading + alphabet + merged tokens) reaches this size. */
  vocabSize: number;
  /** Pairs seen fewer times are never merged. */
  minFrequency: number;
  /**
   * WordPiece training: every character after a word's first is the symbol prefix + character
   * (`##s`), and a merge drops the prefix of its right part (`a` + `##b` = `ab`).
   */
  continuingPrefix?: string;
}

export interface BpeTrainResult {
  vocab: Map<string, number>;
  merges: [string, string][];
}

const PAIR_BASE = 2097152;

/** Which words hold a pair: plain arrays (cheaper than Sets), duplicates skipped when read. */
function addWhere(where: Map<number, number[]>, key: number, word: number): void {
  const s = where.get(key);
  if (s === undefined) where.set(key, [word]);
  else if (s[s.length - 1] !== word) s.push(word);
}

export function learnBpe(input: BpeTrainInput): BpeTrainResult {
  const vocab = new Map<string, number>();
  const tokens: string[] = [];
  const add = (t: string) => {
    if (!vocab.has(t)) {
      vocab.set(t, tokens.length);
      tokens.push(t);
    }
  };
  for (const t of input.leading) add(t);
  for (const t of input.alphabet) add(t);

  // Words as symbol-id arrays, sorted so the result does not depend on Map insertion order.
  const prefix = input.continuingPrefix ?? "";
  const entries = [...input.wordCounts].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const words: number[][] = [];
  const freqs: number[] = [];
  for (const [w, f] of entries) {
    // A character outside the alphabet (left out by character coverage) becomes <unk> when
    // encoding, so no merge may span it: the word is learned from as separate pieces.
    let syms: number[] = [];
    let first = true;
    for (const ch of w) {
      const id = vocab.get(first || prefix === "" ? ch : prefix + ch);
      first = false;
      if (id !== undefined) {
        syms.push(id);
      } else if (syms.length > 0) {
        words.push(syms);
        freqs.push(f);
        syms = [];
      }
    }
    if (syms.length > 0) {
      words.push(syms);
      freqs.push(f);
    }
  }

  const counts = new Map<number, number>();
  const where = new Map<number, number[]>();
  for (let wi = 0; wi < words.length; wi++) {
    const syms = words[wi];
    for (let i = 0; i + 1 < syms.length; i++) {
      const k = pairKey(syms[i], syms[i + 1]);
      counts.set(k, (counts.get(k) ?? 0) + freqs[wi]);
      addWhere(where, k, wi);
    }
  }
  const heap = new PairHeap();
  for (const [k, c] of counts) heap.push(c, k);

  const merges: [string, string][] = [];
  const visited = new Int32Array(words.length).fill(-1);
  const minFrequency = Math.max(1, input.minFrequency);
  while (tokens.length < input.vocabSize) {
    const top = heap.pop();
    if (top === undefined) break;
    const [count, key] = top;
    if (counts.get(key) !== count) continue; // stale entry
    if (count < minFrequency) break;
    const a = Math.floor(key / PAIR_BASE);
    const b = key % PAIR_BASE;
    const merged = tokens[a] + tokens[b].slice(prefix.length);
    add(merged);
    const id = vocab.get(merged) as number;
    merges.push([tokens[a], tokens[b]]);

    const delta = new Map<number, number>();
    const bump = (k: number, d: number) => delta.set(k, (delta.get(k) ?? 0) + d);
    for (const wi of where.get(key) ?? []) {
      if (visited[wi] === merges.length) continue;
      visited[wi] = merges.length;
      const syms = words[wi];
      const f = freqs[wi];
      const out: number[] = [];
      let changed = false;
      // Only the neighbours of each merged occurrence change, as in the Rust trainer's
      // Word::merge: (prev, a) becomes (prev, new) and (b, next) becomes (new, next). `prev` is
      // read from the merged output, so two merges in a row cancel their shared pair correctly.
      for (let i = 0; i < syms.length; i++) {
        if (i + 1 < syms.length && syms[i] === a && syms[i + 1] === b) {
          if (out.length > 0) {
            const prev = out[out.length - 1];
            bump(pairKey(prev, a), -f);
            const k = pairKey(prev, id);
            bump(k, f);
            addWhere(where, k, wi);
          }
          if (i + 2 < syms.length) {
            const next = syms[i + 2];
            bump(pairKey(b, next), -f);
            const k = pairKey(id, next);
            bump(k, f);
            addWhere(where, k, wi);
          }
          out.push(id);
          i++;
          changed = true;
        } else {
          out.push(syms[i]);
        }
      }
      if (!changed) continue;
      words[wi] = out;
    }
    counts.delete(key);
    where.delete(key);
    delta.delete(key);
    for (const [k, d] of delta) {
      if (d === 0) continue;
      const c = (counts.get(k) ?? 0) + d;
      if (c > 0) {
        counts.set(k, c);
        heap.push(c, k);
      } else {
        counts.delete(k);
        where.delete(k);
      }
    }
  }
  return { vocab, merges };
}
