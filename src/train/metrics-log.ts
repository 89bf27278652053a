// Reading metrics.jsonl back (../shared/CLI.md "Run directory"): one JSON object a line, training
// lines with step/epoch/loss/lr/tokens_per_s, evaluation lines with step/valid_loss and the
// task's metrics. Turned into one series per field: the finite values of that field by step.
import { MaskwiseError } from "../util/errors.js";

export type MetricsRecord = Record<string, unknown>;

/**
 * Parses the text of a metrics.jsonl. Blank lines are skipped; a line that is not a JSON object
 * is an error naming `where` (the file) and the line number.
 */
export function parseMetricsJsonl(text: string, where: string): MetricsRecord[] {
  const out: MetricsRecord[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new MaskwiseError(
        `metrics line is not valid JSON (${(e as Error).message.replace(/ in JSON at position \d+.*$/s, "")})`,
        { code: "E_JSON", where: `${where}:${i + 1}`, hint: "fix or delete that line" },
      );
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new MaskwiseError("metrics line is not a JSON object", {
        code: "E_JSON",
        where: `${where}:${i + 1}`,
        hint: "each line of metrics.jsonl must be one {…} object; fix or delete that line",
      });
    }
    out.push(value as MetricsRecord);
  }
  return out;
}

/** Points of one field, sorted by step: [step, value] pairs. */
export type Series = [number, number][];

/**
 * One series per numeric field (other than step and epoch). Values that are not finite numbers
 * (null, NaN, Infinity, strings) are skipped, as are records without a finite step. A resumed run
 * logs some steps twice; the later line wins, since it belongs to the run that continued.
 */
export function collectSeries(records: readonly MetricsRecord[]): Map<string, Series> {
  const byField = new Map<string, Map<number, number>>();
  for (const r of records) {
    const step = r.step;
    if (typeof step !== "number" || !Number.isFinite(step)) continue;
    for (const [key, value] of Object.entries(r)) {
      if (key === "step" || key === "epoch") continue;
      if (typeof value !== "number" || !Number.isFinite(value)) continue;
      let m = byField.get(key);
      if (!m) {
        m = new Map();
        byField.set(key, m);
      }
      m.set(step, value);
    }
  }
  const out = new Map<string, Series>();
  for (const [key, m] of byField)
    out.set(
      key,
      [...m].sort((a, b) => a[0] - b[0]),
    );
  return out;
}
