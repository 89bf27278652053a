// The fixed split of Tatoeba's English-Chinese file (cmn.txt: English TAB Chinese TAB attribution,
// one pair a line) that `maskwise quickstart` and examples/tatoeba-zh train and test on. Line n
// (1-based, counting every line of the file) goes to test when n % 20 == 0, to valid when
// n % 20 == 1, to train otherwise. The file is sorted by length, so every part spans short and
// long sentences, and the same file always gives the same three parts (no seed, no shuffle).
// Pure: the text comes from the caller (src/node/tatoeba.ts reads the packaged gzip or a file).
import { MaskwiseError } from "../util/errors.js";
import { tsvFields } from "./records.js";

/** [Chinese, English]: the quickstart translates Chinese (source) into English (target). */
export type ZhEnPair = [zh: string, en: string];

export interface TatoebaSplit {
  train: ZhEnPair[];
  valid: ZhEnPair[];
  test: ZhEnPair[];
}

/** Which part line n (1-based) of cmn.txt belongs to. */
export function tatoebaPart(n: number): keyof TatoebaSplit {
  return n % 20 === 0 ? "test" : n % 20 === 1 ? "valid" : "train";
}

/**
 * The three parts of cmn.txt's text (a byte-order mark at the start is ignored; `where` names
 * the file in errors). Every line that is not empty must have the English and the Chinese
 * column; empty lines (the distributed file ends with one) are skipped and keep their number.
 */
export function splitTatoeba(text: string, where: string): TatoebaSplit {
  const lines = text.replace(/^\uFEFF/, "").split("\n");
  const out: TatoebaSplit = { train: [], valid: [], test: [] };
  lines.forEach((raw, i) => {
    const n = i + 1;
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line === "") return;
    const [en, zh] = tsvFields(line, [0, 1], `${where}:${n}`);
    if (en.trim() === "" || zh.trim() === "") {
      throw new MaskwiseError("a pair with an empty side", {
        code: "E_DATA",
        where: `${where}:${n}`,
        hint: "cmn.txt holds English TAB Chinese TAB attribution on every line",
      });
    }
    out[tatoebaPart(n)].push([zh, en]);
  });
  return out;
}
