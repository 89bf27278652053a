// Unit tests of the pieces BLEU, chrF and ROUGE are built from. The expected strings were
// produced by sacreBLEU 2.6.0's own tokenizers and NLTK 3.8's PorterStemmer() on these inputs.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  chrfWords,
  corpusBleu,
  corpusChrf,
  getTokenizer,
  isChineseChar,
  porterStem,
  pyFixed,
  pySplit,
  tokenize13a,
  tokenizeChar,
  tokenizeIntl,
  tokenizeNone,
  tokenizeRouge,
  tokenizeZh,
} from "../../src/eval/index.js";
import { MaskwiseError } from "../../src/util/errors.js";

const TOK_13A: Record<string, string> = {
  "Hello, world!": "Hello , world !",
  "It's 3.5% (approx.) in 2019-2020.": "It's 3.5 % ( approx . ) in 2019 - 2020 .",
  "a&amp;b &lt;tag&gt; &quot;q&quot; <skipped> x": 'a & b < tag > " q " x',
  "U.S.A. costs $1,000.50, e.g. 5.": "U . S . A . costs $ 1,000.50 , e . g . 5 .",
  "Das kostet 3,5 Mio. €—wirklich?": "Das kostet 3,5 Mio . €—wirklich ?",
  "“Quoted” text… and – dashes": "“Quoted” text… and – dashes",
  "emoji 😀 and ™ symbols ±": "emoji 😀 and ™ symbols ±",
  "  leading\ttabs and　ideographic space  ": "leading tabs and ideographic space",
  "我喜欢吃苹果。Hello，世界！": "我喜欢吃苹果。Hello，世界！",
  "数字123和English混合…": "数字123和English混合…",
  "(hi)": "( hi )",
  "1980s-era, 10:30 a.m.": "1980s-era , 10 : 30 a . m .",
};

const TOK_INTL: Record<string, string> = {
  "Hello, world!": "Hello , world !",
  "It's 3.5% (approx.) in 2019-2020.": "It ' s 3.5 % ( approx . ) in 2019-2020.",
  "a&amp;b &lt;tag&gt; &quot;q&quot; <skipped> x":
    "a & amp ; b & lt ; tag & gt ; & quot ; q & quot ; < skipped > x",
  "U.S.A. costs $1,000.50, e.g. 5.": "U . S . A . costs $ 1,000.50 , e . g . 5.",
  "Das kostet 3,5 Mio. €—wirklich?": "Das kostet 3,5 Mio . € — wirklich ?",
  "“Quoted” text… and – dashes": "“ Quoted ” text … and – dashes",
  "emoji 😀 and ™ symbols ±": "emoji 😀 and ™ symbols ±",
  "  leading\ttabs and　ideographic space  ": "leading tabs and ideographic space",
  "我喜欢吃苹果。Hello，世界！": "我喜欢吃苹果 。 Hello ， 世界 ！",
  "数字123和English混合…": "数字123和English混合 …",
  "(hi)": "( hi )",
  "1980s-era, 10:30 a.m.": "1980s - era , 10:30 a . m .",
};

const TOK_ZH: Record<string, string> = {
  "Hello, world!": "Hello , world !",
  "It's 3.5% (approx.) in 2019-2020.": "It's 3.5 % ( approx . ) in 2019 - 2020.",
  "a&amp;b &lt;tag&gt; &quot;q&quot; <skipped> x":
    "a & amp ; b & lt ; tag & gt ; & quot ; q & quot ; < skipped > x",
  "U.S.A. costs $1,000.50, e.g. 5.": "U . S . A . costs $ 1,000.50 , e . g . 5.",
  "Das kostet 3,5 Mio. €—wirklich?": "Das kostet 3,5 Mio . € — wirklich ?",
  "“Quoted” text… and – dashes": "“ Quoted ” text … and – dashes",
  "emoji 😀 and ™ symbols ±": "emoji 😀 and ™ symbols ±",
  "  leading\ttabs and　ideographic space  ": "leading tabs and ideographic space",
  "我喜欢吃苹果。Hello，世界！": "我 喜 欢 吃 苹 果 。 Hello ， 世 界 ！",
  "数字123和English混合…": "数 字 123 和 English 混 合 …",
  "(hi)": "( hi )",
  "1980s-era, 10:30 a.m.": "1980s-era , 10 : 30 a . m .",
};

const TOK_CHAR: Record<string, string> = {
  "Hello, world!": "H e l l o ,   w o r l d !",
  "It's 3.5% (approx.) in 2019-2020.":
    "I t ' s   3 . 5 %   ( a p p r o x . )   i n   2 0 1 9 - 2 0 2 0 .",
  "a&amp;b &lt;tag&gt; &quot;q&quot; <skipped> x":
    "a & a m p ; b   & l t ; t a g & g t ;   & q u o t ; q & q u o t ;   < s k i p p e d >   x",
  "U.S.A. costs $1,000.50, e.g. 5.":
    "U . S . A .   c o s t s   $ 1 , 0 0 0 . 5 0 ,   e . g .   5 .",
  "Das kostet 3,5 Mio. €—wirklich?":
    "D a s   k o s t e t   3 , 5   M i o .   € — w i r k l i c h ?",
  "“Quoted” text… and – dashes": "“ Q u o t e d ”   t e x t …   a n d   –   d a s h e s",
  "emoji 😀 and ™ symbols ±": "e m o j i   😀   a n d   ™   s y m b o l s   ±",
  "  leading\ttabs and　ideographic space  ":
    "    l e a d i n g \t t a b s   a n d 　 i d e o g r a p h i c   s p a c e    ",
  "我喜欢吃苹果。Hello，世界！": "我 喜 欢 吃 苹 果 。 H e l l o ， 世 界 ！",
  "数字123和English混合…": "数 字 1 2 3 和 E n g l i s h 混 合 …",
  "(hi)": "( h i )",
  "1980s-era, 10:30 a.m.": "1 9 8 0 s - e r a ,   1 0 : 3 0   a . m .",
};

const CHRF_WORDS: Record<string, string[]> = {
  "Hello, world!": ["Hello", ",", "world", "!"],
  "It's 3.5% (approx.) in 2019-2020.": [
    "It's",
    "3.5",
    "%",
    "(approx.",
    ")",
    "in",
    "2019-2020",
    ".",
  ],
  "a&amp;b &lt;tag&gt; &quot;q&quot; <skipped> x": [
    "a&amp;b",
    "&lt;tag&gt",
    ";",
    "&quot;q&quot",
    ";",
    "<skipped",
    ">",
    "x",
  ],
  "U.S.A. costs $1,000.50, e.g. 5.": [
    "U.S.A",
    ".",
    "costs",
    "$1,000.50",
    ",",
    "e.g",
    ".",
    "5",
    ".",
  ],
  "Das kostet 3,5 Mio. €—wirklich?": ["Das", "kostet", "3,5", "Mio", ".", "€—wirklich", "?"],
  "“Quoted” text… and – dashes": ["“Quoted”", "text…", "and", "–", "dashes"],
  "emoji 😀 and ™ symbols ±": ["emoji", "😀", "and", "™", "symbols", "±"],
  "  leading\ttabs and　ideographic space  ": ["leading", "tabs", "and", "ideographic", "space"],
  "我喜欢吃苹果。Hello，世界！": ["我喜欢吃苹果。Hello，世界！"],
  "数字123和English混合…": ["数字123和English混合…"],
  "(hi)": ["(hi", ")"],
  "1980s-era, 10:30 a.m.": ["1980s-era", ",", "10:30", "a.m", "."],
};

/** NLTK 3.8 PorterStemmer() (NLTK_EXTENSIONS): the paper's examples and NLTK's departures. */
const PORTER: Record<string, string> = {
  caresses: "caress",
  ponies: "poni",
  ties: "tie",
  caress: "caress",
  cats: "cat",
  feed: "feed",
  agreed: "agre",
  plastered: "plaster",
  bled: "bled",
  motoring: "motor",
  sing: "sing",
  conflated: "conflat",
  troubled: "troubl",
  sized: "size",
  hopping: "hop",
  tanned: "tan",
  falling: "fall",
  hissing: "hiss",
  fizzed: "fizz",
  failing: "fail",
  filing: "file",
  happy: "happi",
  sky: "sky",
  enjoy: "enjoy",
  relational: "relat",
  conditional: "condit",
  rational: "ration",
  valenci: "valenc",
  hesitanci: "hesit",
  digitizer: "digit",
  conformabli: "conform",
  radicalli: "radic",
  differentli: "differ",
  vileli: "vile",
  analogousli: "analog",
  vietnamization: "vietnam",
  predication: "predic",
  operator: "oper",
  feudalism: "feudal",
  decisiveness: "decis",
  hopefulness: "hope",
  callousness: "callous",
  formaliti: "formal",
  sensitiviti: "sensit",
  sensibiliti: "sensibl",
  triplicate: "triplic",
  formative: "form",
  formalize: "formal",
  electriciti: "electr",
  electrical: "electr",
  hopeful: "hope",
  goodness: "good",
  revival: "reviv",
  allowance: "allow",
  inference: "infer",
  airliner: "airlin",
  gyroscopic: "gyroscop",
  adjustable: "adjust",
  defensible: "defens",
  irritant: "irrit",
  replacement: "replac",
  adjustment: "adjust",
  dependent: "depend",
  adoption: "adopt",
  homologou: "homolog",
  communism: "commun",
  activate: "activ",
  angulariti: "angular",
  homologous: "homolog",
  effective: "effect",
  bowdlerize: "bowdler",
  probate: "probat",
  rate: "rate",
  cease: "ceas",
  controll: "control",
  roll: "roll",
  dying: "die",
  lying: "lie",
  news: "news",
  innings: "inning",
  skies: "sky",
  proceed: "proceed",
  dies: "die",
  died: "die",
  cried: "cri",
  spied: "spi",
  flies: "fli",
  generously: "gener",
  fully: "fulli",
  analogy: "analog",
  archaeology: "archaeolog",
  syzygy: "syzygi",
  yyyy: "yyyi",
  toy: "toy",
  running: "run",
  runners: "runner",
  quickly: "quickli",
  "1990s": "1990",
  abc12ing: "abc12",
  conspiracy: "conspiraci",
};

const tables: [string, (s: string) => string, Record<string, string>][] = [
  ["13a", tokenize13a, TOK_13A],
  ["intl", tokenizeIntl, TOK_INTL],
  ["zh", tokenizeZh, TOK_ZH],
  ["char", tokenizeChar, TOK_CHAR],
];
for (const [name, fn, table] of tables) {
  test(`tokenizer ${name} gives sacreBLEU's output`, () => {
    for (const [input, expected] of Object.entries(table)) {
      // sacreBLEU's BLEU splits the tokenized line on whitespace; compare those words.
      assert.deepEqual(pySplit(fn(input)), pySplit(expected), `${name}(${JSON.stringify(input)})`);
      assert.equal(fn(input), expected, `${name}(${JSON.stringify(input)})`);
    }
  });
}

test("13a: a final period splits off even after a digit; intl keeps it (mteval-v14's quirk)", () => {
  assert.equal(tokenize13a("in 2019."), "in 2019 .");
  assert.equal(tokenizeIntl("in 2019."), "in 2019.");
  assert.equal(tokenize13a("3.5 and 3,5"), "3.5 and 3,5");
});

test("zh: CJK characters stand alone; U+2001..U+2A6D does too, as sacreBLEU's ranges behave", () => {
  assert.ok(isChineseChar(0x4e00) && isChineseChar(0x3002) && isChineseChar(0xff0c));
  // The mistyped Extension B range: em dash, ellipsis, curly quotes and the euro sign count.
  for (const ch of "—…“”€") assert.ok(isChineseChar(ch.codePointAt(0) as number), ch);
  assert.ok(!isChineseChar(0x2000) && !isChineseChar(0x2a6e));
  // Nothing beyond the BMP, Extension B itself included.
  assert.ok(!isChineseChar(0x20000) && !isChineseChar(0x1f600));
  assert.equal(tokenizeZh("价格€5—便宜"), "价 格 € 5 — 便 宜");
});

test("none and char: whitespace only, and code points (an astral character is one)", () => {
  assert.equal(tokenizeNone("a,b  c"), "a,b  c");
  assert.deepEqual(pySplit(tokenizeChar("a😀b")), ["a", "😀", "b"]);
});

test("an unknown tokenizer is an input error naming the known ones", () => {
  assert.throws(
    () => getTokenizer("moses"),
    (e: unknown) => e instanceof MaskwiseError && /13a, intl, zh, char, none/.test(e.hint ?? ""),
  );
});

test("pySplit splits on Python's whitespace, not JavaScript's", () => {
  assert.deepEqual(pySplit("  a\u001cb\u0085c\u00a0d\u3000e  "), ["a", "b", "c", "d", "e"]);
  // U+FEFF (a BOM) is whitespace to JavaScript's \s but not to Python.
  assert.deepEqual(pySplit("\ufeffa b"), ["\ufeffa", "b"]);
  assert.deepEqual(pySplit(""), []);
  assert.deepEqual(pySplit(" \t "), []);
});

test("pyFixed rounds exact ties to even as Python's format does", () => {
  assert.equal(pyFixed(12.25, 1), "12.2");
  assert.equal(pyFixed(12.75, 1), "12.8");
  assert.equal(pyFixed(0.125, 2), "0.12");
  assert.equal(pyFixed(0.375, 2), "0.38");
  assert.equal(pyFixed(2.5, 0), "2");
  assert.equal(pyFixed(-12.25, 1), "-12.2");
  // Not ties: the binary value lies on one side.
  assert.equal(pyFixed(0.15, 1), "0.1");
  assert.equal(pyFixed(38.36852355513645, 2), "38.37");
  assert.equal(pyFixed(100.00000000000004, 2), "100.00");
});

test("chrF++ words: one punctuation mark split off the end, else off the start", () => {
  for (const [input, expected] of Object.entries(CHRF_WORDS)) {
    assert.deepEqual(chrfWords(input), expected, JSON.stringify(input));
  }
});

test("Porter stemmer agrees with NLTK 3.8 PorterStemmer() word for word", () => {
  for (const [word, stem] of Object.entries(PORTER)) assert.equal(porterStem(word), stem, word);
});

test("rouge-score tokenizer: lowercase runs of [a-z0-9], stemming words over three letters", () => {
  assert.deepEqual(tokenizeRouge("The CAT sat!! #Person1# 3.5"), [
    "the",
    "cat",
    "sat",
    "person1",
    "3",
    "5",
  ]);
  // Accented letters separate words (rouge-score is ASCII-only).
  assert.deepEqual(tokenizeRouge("Zwei Männer"), ["zwei", "m", "nner"]);
  assert.deepEqual(tokenizeRouge("Running runners ran quickly", true), [
    "run",
    "runner",
    "ran",
    "quickli",
  ]);
  assert.deepEqual(tokenizeRouge(""), []);
});

test("several references: a missing one (null) makes nrefs:var; an empty one still counts", () => {
  const hyps = ["the cat sat on a mat", "a dog barked"];
  // Figures from sacreBLEU 2.6.0's BLEU().corpus_score and CHRF(word_order=2).corpus_score.
  const missing = corpusBleu(hyps, [
    ["the cat sat on the mat", "the dog barked loudly"],
    ["a cat sat on a mat", null],
  ]);
  assert.ok(Math.abs(missing.score - 79.06653855679438) < 1e-9);
  assert.deepEqual(
    [missing.counts, missing.totals],
    [
      [8, 6, 4, 3],
      [9, 7, 5, 3],
    ],
  );
  assert.deepEqual([missing.hypLen, missing.refLen], [9, 10]);
  assert.equal(missing.signature, "nrefs:var|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0");
  // An empty reference is a reference of length 0: it competes for the closest length.
  const empty = corpusBleu(hyps, [
    ["the cat sat on the mat", ""],
    ["a cat sat on a mat", "a dog"],
  ]);
  assert.ok(Math.abs(empty.score - 88.35836453663153) < 1e-9);
  assert.equal(empty.refLen, 8);
  assert.match(empty.signature, /^nrefs:2\|/);
  const chrf = corpusChrf(
    hyps,
    [
      ["the cat sat on the mat", "the dog barked loudly"],
      ["a cat sat on a mat", null],
    ],
    { wordOrder: 2 },
  );
  assert.ok(Math.abs(chrf.score - 64.85516825553475) < 1e-9);
  assert.equal(chrf.signature, "nrefs:var|case:mixed|eff:yes|nc:6|nw:2|space:no|version:2.6.0");
  // No reference at all for a segment, or streams of the wrong length: input errors.
  assert.throws(() => corpusBleu(["a"], [[null]]), MaskwiseError);
  assert.throws(() => corpusBleu(["a", "b"], [["a"]]), /has 1 line but the hypothesis has 2 lines/);
});
