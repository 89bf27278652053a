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

/** What one progress line shows (the Trainer's onUpdate, plus the time left). */
export interface ProgressInfo {
  /** Fraction of the job done, 0..1 (values outside are clamped, NaN counts as 0). */
  fraction: number;
  step: number;
  epoch: number;
  loss: number;
  tokensPerS: number;
  /** Seconds left; NaN or Infinity when there is nothing to estimate from yet. */
  etaS: number;
}

/** 75 -> "1:15", 3725 -> "1:02:05"; "--:--" when unknown. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "--:--";
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/**
 * Seconds left, from the time spent and the progress made in it: the rest of the job at the pace
 * so far. `fromFraction` is where this process started (a resumed run starts part way through).
 */
export function estimateEta(elapsedS: number, fraction: number, fromFraction = 0): number {
  const f = clamp01(fraction);
  const done = f - clamp01(fromFraction);
  if (f >= 1) return 0;
  return done > 0 && elapsedS >= 0 ? (elapsedS * (1 - f)) / done : Number.NaN;
}

function clamp01(x: number): number {
  return Number.isNaN(x) ? 0 : Math.min(1, Math.max(0, x));
}

/**
 * One progress line that fits `columns` characters (less one, so the terminal never wraps it):
 *   train ██████████░░░░░░░░░░  50.0% step 500 epoch 1 loss 3.214 1234 tok/s 2:05 left
 * The bar takes the room the text leaves (10 to 40 cells); on a narrow terminal it goes, then
 * the text is cut.
 */
export function formatProgress(label: string, p: ProgressInfo, columns: number): string {
  const f = clamp01(p.fraction);
  const pct = `${(f * 100).toFixed(1).padStart(5)}%`;
  const loss = Number.isFinite(p.loss) ? p.loss.toFixed(3) : String(p.loss).toLowerCase();
  const tps =
    p.tokensPerS >= 10_000 ? `${(p.tokensPerS / 1000).toFixed(1)}k` : p.tokensPerS.toFixed(0);
  const text = `${pct} step ${p.step} epoch ${p.epoch} loss ${loss} ${tps} tok/s ${formatDuration(p.etaS)} left`;
  const room = Math.max(1, columns - 1);
  const barWidth = Math.min(40, room - label.length - text.length - 2);
  if (barWidth >= 10) {
    const full = Math.floor(f * barWidth + 1e-9);
    return `${label} ${"█".repeat(full)}${"░".repeat(barWidth - full)} ${text}`;
  }
  return `${label} ${text}`.slice(0, room);
}

/** Where a progress bar draws: process.stderr, or a stand-in in tests. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

/**
 * A training progress bar for onUpdate: on a terminal it redraws one line at most every
 * `intervalMs` (and at 100%); elsewhere it writes nothing. Time left is measured from the first
 * update this process saw, so a resumed run is not credited with the steps it inherited.
 * progressDone() clears the line.
 */
export function progressBar(
  label: string,
  {
    stream = process.stderr as ProgressStream,
    now = () => performance.now(),
    intervalMs = 100,
  } = {},
): (u: {
  step: number;
  epoch: number;
  loss: number;
  tokensPerS: number;
  progress: number;
}) => void {
  let t0 = Number.NaN;
  let f0 = 0;
  let lastDraw = Number.NEGATIVE_INFINITY;
  return (u) => {
    if (!stream.isTTY) return;
    const t = now();
    if (Number.isNaN(t0)) {
      t0 = t;
      f0 = clamp01(u.progress);
    }
    if (t - lastDraw < intervalMs && u.progress < 1) return;
    lastDraw = t;
    const line = formatProgress(
      label,
      { ...u, fraction: u.progress, etaS: estimateEta((t - t0) / 1000, u.progress, f0) },
      stream.columns || 80, // 0 when the terminal reports no size
    );
    stream.write(`\r\x1b[K${line}`);
  };
}

/** 0.000125 -> "1.250e-4", 5.1234 -> "5.123": four significant digits, compact either way. */
function short(x: unknown): string {
  if (typeof x !== "number") return String(x);
  if (!Number.isFinite(x)) return String(x).toLowerCase();
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? x.toExponential(3) : String(Number(x.toPrecision(4)));
}

/**
 * One plain line per metrics record (a training line every log interval, an evaluation, a
 * skipped update), for the trainer's onMetrics, so a run piped to a file or a CI log can be
 * followed while it goes:
 *   train: step 20 epoch 0 loss 5.123 lr 2.5e-4 4879 tok/s
 *   train: step 20 valid_loss 4.9 valid_ppl 134.3 valid_bleu 1.23
 * On a terminal the progress bar shows the run; only a skipped update is printed there too,
 * above the bar (which the next update redraws).
 */
export function metricsLog(
  label: string,
  { stream = process.stderr as ProgressStream } = {},
): (record: Record<string, unknown>) => void {
  return (r) => {
    let text: string;
    if ("skipped_update" in r) {
      text = `skipped update ${Number(r.step) + 1}: the ${r.skipped_update}`;
    } else if (stream.isTTY) {
      return;
    } else if ("loss" in r) {
      text = `step ${r.step} epoch ${r.epoch} loss ${short(r.loss)} lr ${short(r.lr)} ${short(Math.round(Number(r.tokens_per_s)))} tok/s`;
    } else {
      const valid = Object.entries(r).filter(([k]) => k.startsWith("valid_"));
      text = `step ${r.step} ${valid.map(([k, x]) => `${k} ${short(x)}`).join(" ")}`;
    }
    stream.write(`${stream.isTTY ? "\r\x1b[K" : ""}${label}: ${text}\n`);
  };
}
