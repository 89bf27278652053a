// Lines of a stream handed on in windows: `translate` reads a window of source lines ahead (many
// batches' worth), so that sorting them by length gives batches of similar lengths, and writes
// each window's outputs, in input order, before reading far past it. Memory stays bounded by the
// window plus the lines of one chunk of input, and output follows the input window by window.
//
// On a terminal a person types a line and waits for its answer, so there a pause in the input
// (`idleMs` with no new line) also hands on what has arrived. Elsewhere (a file, a pipe) windows
// are cut by count only: the same input is batched the same way on every run, whatever the
// timing, and so gives the same outputs.
import { createInterface } from "node:readline";

export interface ReadAheadOptions {
  /** Lines per window (at least 1). */
  window: number;
  /** Hand on what has arrived after this long without a new line; null: never. */
  idleMs: number | null;
}

/**
 * Calls `flush` with consecutive windows of the input's lines (every line once, in order; a
 * window has at most `window` lines) and resolves after the last one. A `flush` that throws
 * stops the reading and rejects with its error.
 */
export function readAhead(
  input: NodeJS.ReadableStream,
  options: ReadAheadOptions,
  flush: (lines: string[]) => void,
): Promise<void> {
  const window = Math.max(1, Math.floor(options.window));
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    let pending: string[] = [];
    let timer: NodeJS.Timeout | undefined;
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      clearTimeout(timer);
      rl.close();
      reject(e);
    };
    const run = () => {
      if (failed || pending.length === 0) return;
      const lines = pending;
      pending = [];
      try {
        flush(lines);
      } catch (e) {
        fail(e);
      }
    };
    rl.on("line", (line) => {
      if (failed) return;
      pending.push(line);
      if (pending.length >= window) run();
      if (options.idleMs !== null && !failed) {
        clearTimeout(timer);
        timer = setTimeout(run, options.idleMs);
      }
    });
    rl.on("close", () => {
      clearTimeout(timer);
      run();
      if (!failed) resolve();
    });
    input.on("error", fail);
  });
}
