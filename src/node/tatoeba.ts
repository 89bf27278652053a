// Tatoeba's English-Chinese pairs as `maskwise quickstart` reads them: the copy the package
// carries (data/tatoeba-zh-en/cmn.txt.gz, CC-BY 2.0 FR, attribution on every line), so the
// default quickstart needs no network, or a cmn.txt (or cmn.txt.gz) the user names. The split
// is src/data/tatoeba-split.ts.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { splitTatoeba, type TatoebaSplit } from "../data/tatoeba-split.js";
import { MaskwiseError } from "../util/errors.js";

/** The packaged copy: data/ at the package root (package.json "files" ships it). */
export const PACKAGED_TATOEBA = join(
  import.meta.dirname,
  "..",
  "..",
  "data",
  "tatoeba-zh-en",
  "cmn.txt.gz",
);

/** The text of a cmn.txt, plain or gzip-compressed (by its magic bytes, not its name). */
export function readTatoebaText(path: string): string {
  if (!existsSync(path)) {
    throw new MaskwiseError(`${path} not found`, {
      code: "E_FILE",
      where: path,
      hint:
        path === PACKAGED_TATOEBA
          ? "the package's data/ folder is missing: reinstall maskwise, or pass --dataset tatoeba-zh-en --data-dir DIR with cmn.txt"
          : "the folder needs cmn.txt (English TAB Chinese TAB attribution), as 'maskwise data get tatoeba-zh' saves it",
    });
  }
  let bytes: Uint8Array = readFileSync(path);
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new MaskwiseError(`not a readable gzip file (${(e as Error).message})`, {
        code: "E_DATA",
        where: path,
        hint: "replace it with an intact copy",
      });
    }
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new MaskwiseError("invalid UTF-8", {
      code: "E_UTF8",
      where: path,
      hint: "re-save the file as UTF-8",
    });
  }
}

/** The split pairs of the packaged copy, or of DIR/cmn.txt (or DIR/cmn.txt.gz) when given. */
export function tatoebaSplit(dataDir?: string): { split: TatoebaSplit; path: string } {
  let path = PACKAGED_TATOEBA;
  if (dataDir !== undefined) {
    const gz = join(dataDir, "cmn.txt.gz");
    path = !existsSync(join(dataDir, "cmn.txt")) && existsSync(gz) ? gz : join(dataDir, "cmn.txt");
  }
  return { split: splitTatoeba(readTatoebaText(path), path), path };
}
