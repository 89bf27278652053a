// A run directory (../shared/CLI.md): metrics.jsonl, and checkpoints/<name>/ model directories
// written atomically file by file (a checkpoint being written never replaces a good one with a
// half-written one: every file goes to a temporary name first, then is renamed into place).
// Beside metrics.jsonl it keeps curves.svg and curves.png (src/train/curves.ts), redrawn after
// every evaluation line and once more by finish().
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { curvesPng, curvesSvg } from "../train/curves.js";
import { type MetricsRecord, parseMetricsJsonl } from "../train/metrics-log.js";
import type { RunStore } from "../train/store.js";
import { MaskwiseError } from "../util/errors.js";
import { atomicWrite, readText } from "./files.js";

/** The records of DIR/metrics.jsonl; a line that is not a JSON object is an error naming it. */
export function readMetrics(dir: string): MetricsRecord[] {
  const path = join(dir, "metrics.jsonl");
  return parseMetricsJsonl(readText(path, "metrics.jsonl"), path);
}

/** The chart's title: the run directory's own name. */
export function runName(dir: string): string {
  return basename(resolve(dir));
}

export class DirectoryStore implements RunStore {
  /** Every record of metrics.jsonl, read once when the first line is appended. */
  private records: MetricsRecord[] | null = null;

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
    const records = this.loadRecords();
    const line = JSON.stringify(record);
    appendFileSync(join(this.dir, "metrics.jsonl"), `${line}\n`);
    // Kept as the file has it (NaN and Infinity become null), so the chart matches a re-read.
    records.push(JSON.parse(line));
    if ("valid_loss" in record) this.writeCurves();
  }

  /** Draws the curves once more from everything logged (the end of a run, or an interruption). */
  finish(): void {
    if (this.loadRecords().length > 0) this.writeCurves();
  }

  private writeCurves(): void {
    const records = this.loadRecords();
    const title = runName(this.dir);
    atomicWrite(join(this.dir, "curves.svg"), curvesSvg(records, title));
    atomicWrite(join(this.dir, "curves.png"), curvesPng(records, title));
  }

  private loadRecords(): MetricsRecord[] {
    if (this.records) return this.records;
    // A resumed run continues the log it finds. Lines that do not parse (a line cut short when a
    // run was killed mid-write) are left out of the chart rather than stopping training;
    // `maskwise plot` reports them.
    this.records = [];
    const path = join(this.dir, "metrics.jsonl");
    if (existsSync(path)) {
      for (const line of readFileSync(path, "utf8").split("\n")) {
        try {
          const r = JSON.parse(line);
          if (r !== null && typeof r === "object" && !Array.isArray(r)) this.records.push(r);
        } catch {
          // skipped, see above
        }
      }
    }
    return this.records;
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
