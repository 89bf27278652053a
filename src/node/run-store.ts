// A run directory (../shared/CLI.md): metrics.jsonl, and checkpoints/<name>/ model directories
// written atomically file by file (a checkpoint being written never replaces a good one with a
// half-written one: every file goes to a temporary name first, then is renamed into place).
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { RunStore } from "../train/store.js";
import { MaskwiseError } from "../util/errors.js";
import { atomicWrite } from "./files.js";

export class DirectoryStore implements RunStore {
  constructor(readonly dir: string) {
    try {
      mkdirSync(join(dir, "checkpoints"), { recursive: true });
    } catch (e) {
      throw new MaskwiseError(`cannot create the run directory: ${(e as Error).message}`, {
        code: "E_FILE",
        where: dir,
        hint: "check the path and permissions",
        kind: "failure",
      });
    }
  }

  appendMetrics(record: Record<string, unknown>): void {
    appendFileSync(join(this.dir, "metrics.jsonl"), `${JSON.stringify(record)}\n`);
  }

  writeCheckpoint(name: string, files: Record<string, Uint8Array | string>): void {
    const folder = join(this.dir, "checkpoints", name);
    mkdirSync(folder, { recursive: true });
    // The model weights go last: a reader that finds them finds the rest complete too.
    const order = Object.keys(files).sort(
      (a, b) => Number(a === "model.safetensors") - Number(b === "model.safetensors"),
    );
    for (const f of order) atomicWrite(join(folder, f), files[f]);
  }

  readCheckpoint(name: string): Record<string, Uint8Array> | null {
    const folder = join(this.dir, "checkpoints", name);
    if (!existsSync(join(folder, "model.safetensors"))) return null;
    const out: Record<string, Uint8Array> = {};
    for (const f of readdirSync(folder))
      if (!f.startsWith(".")) out[f] = readFileSync(join(folder, f));
    return out;
  }
}
