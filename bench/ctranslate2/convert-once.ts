// A maskwise model converted for CTranslate2 (bench/ctranslate2/convert.py) into `outDir`, unless
// a conversion is already there: what bench/translate-compare.ts and bench/int8-fidelity.ts run
// before CTranslate2 reads the model.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/** Converts once; a failure goes to `fail` with convert.py's error output. */
export function convertOnce(
  python: string,
  modelDir: string,
  outDir: string,
  precision: "float32" | "int8",
  fail: (what: string, where: string, todo: string) => never,
): void {
  if (existsSync(join(outDir, "model.bin"))) return;
  const script = join(import.meta.dirname, "convert.py");
  const args = [script, modelDir, outDir, "--quantization", precision, "--force"];
  const r = spawnSync(python, args, { encoding: "utf8" });
  if (r.status !== 0)
    fail(
      `convert.py failed: ${(r.stderr || r.error?.message || "").trim()}`,
      python,
      "build CTranslate2 with bench/ctranslate2/build.sh, or pass --python",
    );
}
