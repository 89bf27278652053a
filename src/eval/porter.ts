// The Porter stemmer (Porter, 1980) as NLTK 3.8's `PorterStemmer()` runs it in its default
// NLTK_EXTENSIONS mode, which is what Google's rouge-score uses with `use_stemmer=True`. The
// extensions depart from the 1980 paper in a handful of places, each marked "NLTK:" below:
// a table of irregular forms, "ies"/"ied" on four-letter words, y -> i only after a consonant,
// "alli" handled recursively, "bli" -> "ble" (not "abli" -> "able"), "fulli" and "logi", the *o
// condition for two-letter stems, and words of one or two letters left alone.
//
// Letters are classified as in the paper: a, e, i, o, u are vowels; y is a vowel when it
// follows a consonant and a consonant otherwise; everything else (digits too) is a consonant.

/** NLTK: irregular forms mapped straight to their stems. */
const POOL: ReadonlyMap<string, string> = new Map([
  ["sky", "sky"],
  ["skies", "sky"],
  ["dying", "die"],
  ["lying", "lie"],
  ["tying", "tie"],
  ["news", "news"],
  ["innings", "inning"],
  ["inning", "inning"],
  ["outings", "outing"],
  ["outing", "outing"],
  ["cannings", "canning"],
  ["canning", "canning"],
  ["howe", "howe"],
  ["proceed", "proceed"],
  ["exceed", "exceed"],
  ["succeed", "succeed"],
]);

function isVowelLetter(ch: string): boolean {
  return ch === "a" || ch === "e" || ch === "i" || ch === "o" || ch === "u";
}

/** Whether word[i] is a consonant in the paper's sense. */
function isConsonant(word: string, i: number): boolean {
  const ch = word[i];
  if (isVowelLetter(ch)) return false;
  if (ch === "y") return i === 0 ? true : !isConsonant(word, i - 1);
  return true;
}

/** m in [C](VC)^m[V]: the number of vowel-to-consonant transitions. */
function measure(stem: string): number {
  let m = 0;
  let prevVowel = false;
  for (let i = 0; i < stem.length; i++) {
    const c = isConsonant(stem, i);
    if (c && prevVowel) m++;
    prevVowel = !c;
  }
  return m;
}

const positiveMeasure = (stem: string) => measure(stem) > 0;
const measureAbove1 = (stem: string) => measure(stem) > 1;

/** *v*: the stem contains a vowel. */
function containsVowel(stem: string): boolean {
  for (let i = 0; i < stem.length; i++) if (!isConsonant(stem, i)) return true;
  return false;
}

/** *d: the word ends with a double consonant. */
function endsDoubleConsonant(word: string): boolean {
  const n = word.length;
  return n >= 2 && word[n - 1] === word[n - 2] && isConsonant(word, n - 1);
}

/** *o: the word ends consonant-vowel-consonant, the last not w, x or y. */
function endsCvc(word: string): boolean {
  const n = word.length;
  return (
    (n >= 3 &&
      isConsonant(word, n - 3) &&
      !isConsonant(word, n - 2) &&
      isConsonant(word, n - 1) &&
      !"wxy".includes(word[n - 1])) ||
    // NLTK: a two-letter stem vowel-consonant counts too.
    (n === 2 && !isConsonant(word, 0) && isConsonant(word, 1))
  );
}

/**
 * A suffix rule: suffix, replacement, and the condition on the stem left after removing the
 * suffix (null: none). The suffix "*d" stands for any double consonant.
 */
type Rule = [string, string, ((stem: string) => boolean) | null];

/**
 * Applies the first rule whose suffix the word ends with. Only that rule is tried: when its
 * condition fails the word comes back unchanged, as in the paper's "longest match" reading.
 */
function applyRules(word: string, rules: readonly Rule[]): string {
  for (const [suffix, replacement, condition] of rules) {
    if (suffix === "*d" && endsDoubleConsonant(word)) {
      const stem = word.slice(0, -2);
      return condition === null || condition(stem) ? stem + replacement : word;
    }
    if (word.endsWith(suffix)) {
      const stem = word.slice(0, word.length - suffix.length);
      return condition === null || condition(stem) ? stem + replacement : word;
    }
  }
  return word;
}

/** Replaces a suffix the word is known to end with. */
function replaceSuffix(word: string, suffix: string, replacement: string): string {
  return word.slice(0, word.length - suffix.length) + replacement;
}

/** Step 1a: plurals. sses -> ss, ies -> i, ss -> ss, s -> "". */
function step1a(word: string): string {
  // NLTK: "ties" -> "tie", "dies" -> "die" rather than "ti", "di".
  if (word.endsWith("ies") && word.length === 4) return replaceSuffix(word, "ies", "ie");
  return applyRules(word, [
    ["sses", "ss", null],
    ["ies", "i", null],
    ["ss", "ss", null],
    ["s", "", null],
  ]);
}

/** Step 1b: -eed, -ed, -ing, then restore an e or undouble a consonant. */
function step1b(word: string): string {
  // NLTK: "ied" -> "ie" on four-letter words ("died"), else "i" ("cried" -> "cri").
  if (word.endsWith("ied")) {
    return replaceSuffix(word, "ied", word.length === 4 ? "ie" : "i");
  }
  if (word.endsWith("eed")) {
    const stem = replaceSuffix(word, "eed", "");
    return measure(stem) > 0 ? `${stem}ee` : word;
  }
  let stem: string | null = null;
  for (const suffix of ["ed", "ing"]) {
    if (word.endsWith(suffix)) {
      const s = replaceSuffix(word, suffix, "");
      if (containsVowel(s)) {
        stem = s;
        break;
      }
    }
  }
  if (stem === null) return word;
  const last = stem[stem.length - 1];
  return applyRules(stem, [
    ["at", "ate", null],
    ["bl", "ble", null],
    ["iz", "ize", null],
    // Undouble, except l, s, z: "hopp" -> "hop", but "fall", "hiss", "fizz" stay.
    ["*d", last, () => last !== "l" && last !== "s" && last !== "z"],
    // (m = 1 and *o) -> add e: "fil" -> "file".
    ["", "e", (s) => measure(s) === 1 && endsCvc(s)],
  ]);
}

/** Step 1c: y -> i. NLTK: only after a consonant that is not the whole stem ("enjoy" stays). */
function step1c(word: string): string {
  return applyRules(word, [
    ["y", "i", (stem) => stem.length > 1 && isConsonant(stem, stem.length - 1)],
  ]);
}

/** Step 2: double suffixes to single ones, for m > 0. */
function step2(word: string): string {
  // NLTK: "alli" -> "al", then step 2 again on the result.
  if (word.endsWith("alli") && positiveMeasure(replaceSuffix(word, "alli", ""))) {
    return step2(replaceSuffix(word, "alli", "al"));
  }
  return applyRules(word, [
    ["ational", "ate", positiveMeasure],
    ["tional", "tion", positiveMeasure],
    ["enci", "ence", positiveMeasure],
    ["anci", "ance", positiveMeasure],
    ["izer", "ize", positiveMeasure],
    // NLTK: "bli" -> "ble" in place of the paper's "abli" -> "able".
    ["bli", "ble", positiveMeasure],
    ["alli", "al", positiveMeasure],
    ["entli", "ent", positiveMeasure],
    ["eli", "e", positiveMeasure],
    ["ousli", "ous", positiveMeasure],
    ["ization", "ize", positiveMeasure],
    ["ation", "ate", positiveMeasure],
    ["ator", "ate", positiveMeasure],
    ["alism", "al", positiveMeasure],
    ["iveness", "ive", positiveMeasure],
    ["fulness", "ful", positiveMeasure],
    ["ousness", "ous", positiveMeasure],
    ["aliti", "al", positiveMeasure],
    ["iviti", "ive", positiveMeasure],
    ["biliti", "ble", positiveMeasure],
    // NLTK additions.
    ["fulli", "ful", positiveMeasure],
    // The measure is of the word less "ogi" (the stem keeps its l), as NLTK writes it.
    ["logi", "log", () => positiveMeasure(word.slice(0, -3))],
  ]);
}

/** Step 3: -icate, -ative, -alize, -iciti, -ical, -ful, -ness, for m > 0. */
function step3(word: string): string {
  return applyRules(word, [
    ["icate", "ic", positiveMeasure],
    ["ative", "", positiveMeasure],
    ["alize", "al", positiveMeasure],
    ["iciti", "ic", positiveMeasure],
    ["ical", "ic", positiveMeasure],
    ["ful", "", positiveMeasure],
    ["ness", "", positiveMeasure],
  ]);
}

/** Step 4: remove a suffix when m > 1. */
function step4(word: string): string {
  return applyRules(word, [
    ["al", "", measureAbove1],
    ["ance", "", measureAbove1],
    ["ence", "", measureAbove1],
    ["er", "", measureAbove1],
    ["ic", "", measureAbove1],
    ["able", "", measureAbove1],
    ["ible", "", measureAbove1],
    ["ant", "", measureAbove1],
    ["ement", "", measureAbove1],
    ["ment", "", measureAbove1],
    ["ent", "", measureAbove1],
    // -ion only after s or t: "adoption" -> "adopt".
    ["ion", "", (s) => measure(s) > 1 && (s[s.length - 1] === "s" || s[s.length - 1] === "t")],
    ["ou", "", measureAbove1],
    ["ism", "", measureAbove1],
    ["ate", "", measureAbove1],
    ["iti", "", measureAbove1],
    ["ous", "", measureAbove1],
    ["ive", "", measureAbove1],
    ["ize", "", measureAbove1],
  ]);
}

/** Step 5a: drop a final e when m > 1, or when m = 1 and not *o. */
function step5a(word: string): string {
  if (word.endsWith("e")) {
    const stem = word.slice(0, -1);
    const m = measure(stem);
    if (m > 1) return stem;
    if (m === 1 && !endsCvc(stem)) return stem;
  }
  return word;
}

/** Step 5b: -ll -> -l when m > 1 (measured on the word less its last letter). */
function step5b(word: string): string {
  return applyRules(word, [["ll", "l", () => measure(word.slice(0, -1)) > 1]]);
}

/** NLTK 3.8 `PorterStemmer().stem(word)` (lowercases first). */
export function porterStem(word: string): string {
  const lower = word.toLowerCase();
  // NLTK 3.8 looks the word up as given; rouge-score passes lowercase words, so it is the same.
  const irregular = POOL.get(word);
  if (irregular !== undefined) return irregular;
  // NLTK: one- and two-letter words are left alone.
  if (word.length <= 2) return lower;
  let s = step1a(lower);
  s = step1b(s);
  s = step1c(s);
  s = step2(s);
  s = step3(s);
  s = step4(s);
  s = step5a(s);
  s = step5b(s);
  return s;
}
