// Where a training run keeps its files. The trainer only speaks this interface, so it stays free
// of `node:` imports; src/node/run-store.ts implements it on a run directory (atomic writes).
export interface RunStore {
  /** Appends one JSON object as a line of metrics.jsonl. */
  appendMetrics(record: Record<string, unknown>): void;
  /** Writes (atomically, file by file) a checkpoint folder: checkpoints/<name>/<file>. */
  writeCheckpoint(name: string, files: Record<string, Uint8Array | string>): void;
  /** Reads a checkpoint folder's files, or null when there is none. */
  readCheckpoint(name: string): Record<string, Uint8Array> | null;
  /**
   * Called once when a run ends (however it ends), for work that can wait until then: a
   * DirectoryStore redraws curves.svg and curves.png from the whole log. Optional.
   */
  finish?(): void;
}

/** A RunStore in memory (tests, and the browser). */
export class MemoryStore implements RunStore {
  readonly metrics: Record<string, unknown>[] = [];
  readonly checkpoints = new Map<string, Record<string, Uint8Array>>();
  appendMetrics(record: Record<string, unknown>): void {
    this.metrics.push(structuredClone(record));
  }
  writeCheckpoint(name: string, files: Record<string, Uint8Array | string>): void {
    const enc = new TextEncoder();
    const copy: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(files))
      copy[k] = typeof v === "string" ? enc.encode(v) : v.slice();
    this.checkpoints.set(name, copy);
  }
  readCheckpoint(name: string): Record<string, Uint8Array> | null {
    return this.checkpoints.get(name) ?? null;
  }
}
