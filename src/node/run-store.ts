// A run directory (../shared/CLI.md): metrics.jsonl, and checkpoints/<name>/ model directories
// written atomically as a whole: a checkpoint is written into checkpoints/.<name>.partial/, then
// swapped in by two renames (the old one aside to .<name>.old, the new one into place), so a
// process killed at any moment leaves either the old checkpoint or the new one, never a mix of
// their files (a model of one step with the optimizer state of another). Nothing is created
// before the first line or checkpoint is written: a run that fails to start leaves no folder.
// Beside metrics.jsonl it keeps curves.svg and curves.png (src/train/curves.ts), redrawn after
// every evaluation line and once more by finish().
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
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

  private made = false;

  constructor(readonly dir: string) {}

  private ensureDir(): void {
    if (this.made) return;
    try {
      mkdirSync(join(this.dir, "checkpoints"), { recursive: true });
    } catch (e) {
      throw new MaskwiseError(`cannot create the run directory: ${(e as Error).message}`, {
        code: "E_FILE",
        where: this.dir,
        hint: "check the path and permissions",
        kind: "failure",
      });
    }
    this.made = true;
  }

  appendMetrics(record: Record<string, unknown>): void {
    this.ensureDir();
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
    this.ensureDir();
    const root = join(this.dir, "checkpoints");
    const folder = join(root, name);
    const partial = join(root, `.${name}.partial`);
    const old = join(root, `.${name}.old`);
    try {
      rmSync(partial, { recursive: true, force: true });
      mkdirSync(partial);
      for (const [f, data] of Object.entries(files)) {
        // A name may hold a folder (transformers' additional_chat_templates/NAME.jinja).
        if (f.includes("/")) mkdirSync(dirname(join(partial, f)), { recursive: true });
        writeFileSync(join(partial, f), data);
      }
      this.recover(name);
      rmSync(old, { recursive: true, force: true });
      if (existsSync(folder)) renameSync(folder, old);
      renameSync(partial, folder);
      rmSync(old, { recursive: true, force: true });
    } catch (e) {
      rmSync(partial, { recursive: true, force: true });
      throw new MaskwiseError(`cannot write checkpoint ${name}: ${(e as Error).message}`, {
        code: "E_FILE",
        where: folder,
        hint: "check that the folder is writable and the disk has space",
        kind: "failure",
      });
    }
  }

  /**
   * Puts back checkpoint `name` when a process was killed between the two renames of a swap
   * (the old checkpoint is aside as .<name>.old and <name> is missing).
   */
  recover(name: string): void {
    const root = join(this.dir, "checkpoints");
    const folder = join(root, name);
    const old = join(root, `.${name}.old`);
    if (!existsSync(folder) && existsSync(join(old, "model.safetensors"))) renameSync(old, folder);
  }

  readCheckpoint(name: string): Record<string, Uint8Array> | null {
    this.recover(name);
    const folder = join(this.dir, "checkpoints", name);
    if (!existsSync(join(folder, "model.safetensors"))) return null;
    const out: Record<string, Uint8Array> = {};
    for (const f of readdirSync(folder))
      if (!f.startsWith(".")) out[f] = readFileSync(join(folder, f));
    return out;
  }
}
