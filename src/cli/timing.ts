// Timing for the benchmark commands: warm-up runs, then the median of timed runs (the median
// resists the noise of a shared machine better than the mean).
export function timeMedian(
  fn: () => void,
  warmup: number,
  runs: number,
): { median: number; all: number[] } {
  for (let i = 0; i < warmup; i++) fn();
  const all: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    all.push((performance.now() - t0) / 1000);
  }
  const sorted = [...all].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, all };
}

/** Progress lines on stderr, only when it is a terminal (CLI.md: quiet otherwise). */
export function progress(message: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${message}`);
}

export function progressDone(): void {
  if (process.stderr.isTTY) process.stderr.write("\r\x1b[K");
}
