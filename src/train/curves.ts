// Training curves of a run: metrics.jsonl records -> one picture with a panel each for the
// training loss (raw and smoothed), the validation loss, the learning rate, and every validation
// metric the run logged (BLEU, ROUGE, MLM accuracy, …), all against the update step.
//
// The chart is drawn here rather than with a plotting library (vega-lite rendered by resvg): the
// same Scene gives the SVG and, through util/raster.ts, the PNG, with text from a built-in bitmap
// font, so it runs in a browser, needs no font files on a bare machine, adds no dependency, and
// the PNG bytes depend only on the records.
import { sceneToPng } from "../util/raster.js";
import { type Color, type Scene, type Shape, sceneToSvg, textWidth } from "../util/scene.js";
import { collectSeries, type MetricsRecord, type Series } from "./metrics-log.js";

const WIDTH = 960;
const MARGIN = 10;
const HEADER = 48;
const COLS = 2;
const CELL_W = (WIDTH - 2 * MARGIN) / COLS;
const CELL_H = 250;
// The plot area inside a cell: room for tick labels and the y label on the left, the x labels
// below, the panel title above.
const PAD_LEFT = 70;
const PAD_RIGHT = 18;
const PAD_TOP = 28;
const PAD_BOTTOM = 42;
/** Above this many points a line is thinned (min and max kept per bucket): a long run's SVG stays small. */
export const MAX_POINTS = 2000;

const INK = "#222222";
const MUTED = "#666666";
const GRID = "#e4e7ec";
const FRAME = "#9aa3ad";
const RAW = "#a9c1e6";
const SMOOTH = "#1f4e99";
const PALETTE = ["#c0392b", "#2e7d32", "#8e44ad", "#d35400", "#00838f", "#6d4c41", "#c2185b"];

/** Panel titles of the fields maskwise logs; other validation fields keep their key. */
const TITLES: Record<string, string> = {
  loss: "training loss",
  valid_loss: "validation loss",
  lr: "learning rate",
  valid_bleu: "validation BLEU",
  valid_rouge1: "validation ROUGE-1",
  valid_rouge2: "validation ROUGE-2",
  valid_rougeL: "validation ROUGE-L",
  valid_mlm_accuracy: "validation MLM accuracy",
};
const METRIC_ORDER = [
  "valid_bleu",
  "valid_rouge1",
  "valid_rouge2",
  "valid_rougeL",
  "valid_mlm_accuracy",
];
/** Validation fields that are not a panel of their own (perplexity is exp(valid_loss)). */
const NOT_METRICS = new Set(["valid_loss", "valid_ppl"]);

interface Line {
  name: string;
  points: Series;
  color: Color;
  width: number;
  dots: boolean;
}

interface Panel {
  key: string;
  title: string;
  lines: Line[];
}

/**
 * Debiased exponential moving average (TensorBoard's smoothing). The weight grows with the number
 * of points, from TensorBoard's 0.6 for a short log to 0.95 (about 20 points) for a long one.
 */
export function smooth(points: Series): Series {
  const w = Math.min(0.95, Math.max(0.6, 1 - 20 / points.length));
  let avg = 0;
  let norm = 0;
  return points.map(([s, v]) => {
    avg = w * avg + (1 - w) * v;
    norm = w * norm + (1 - w);
    return [s, avg / norm];
  });
}

/** At most MAX_POINTS points, keeping each bucket's first, lowest, highest and last in order. */
export function thin(points: Series, max = MAX_POINTS): Series {
  if (points.length <= max) return points;
  const buckets = Math.floor(max / 4);
  const out: Series = [];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor((b * points.length) / buckets);
    const to = Math.floor(((b + 1) * points.length) / buckets);
    let lo = from;
    let hi = from;
    for (let i = from; i < to; i++) {
      if (points[i][1] < points[lo][1]) lo = i;
      if (points[i][1] > points[hi][1]) hi = i;
    }
    for (const i of [...new Set([from, lo, hi, to - 1])].sort((a, c) => a - c)) out.push(points[i]);
  }
  return out;
}

function panelsOf(series: Map<string, Series>): Panel[] {
  const get = (k: string) => series.get(k) ?? [];
  const loss = get("loss");
  const panels: Panel[] = [
    {
      key: "loss",
      title: TITLES.loss,
      lines: [
        { name: "loss", points: loss, color: RAW, width: 1.25, dots: false },
        ...(loss.length >= 2
          ? [
              {
                name: "loss (smoothed)",
                points: smooth(loss),
                color: SMOOTH,
                width: 2,
                dots: false,
              },
            ]
          : []),
      ],
    },
    {
      key: "valid_loss",
      title: TITLES.valid_loss,
      lines: [
        { name: "valid_loss", points: get("valid_loss"), color: PALETTE[0], width: 2, dots: true },
      ],
    },
    {
      key: "lr",
      title: TITLES.lr,
      lines: [{ name: "lr", points: get("lr"), color: PALETTE[1], width: 2, dots: false }],
    },
  ];
  const metrics = [...series.keys()]
    .filter((k) => k.startsWith("valid_") && !NOT_METRICS.has(k))
    .sort((a, b) => {
      const ia = METRIC_ORDER.indexOf(a);
      const ib = METRIC_ORDER.indexOf(b);
      return ia >= 0 && ib >= 0 ? ia - ib : ia >= 0 ? -1 : ib >= 0 ? 1 : a < b ? -1 : 1;
    });
  metrics.forEach((k, i) => {
    panels.push({
      key: k,
      title: TITLES[k] ?? k,
      lines: [
        {
          name: k,
          points: get(k),
          color: PALETTE[(i + 2) % PALETTE.length],
          width: 2,
          dots: true,
        },
      ],
    });
  });
  return panels;
}

/** Tick spacing of 1, 2 or 5 times a power of ten giving about `count` ticks over `range`. */
function niceStep(range: number, count: number): number {
  const raw = range / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
}

function ticks(
  lo: number,
  hi: number,
  count: number,
  minStep = 0,
): { values: number[]; step: number } {
  const step = Math.max(minStep, niceStep(hi - lo, count));
  const values: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++)
    values.push(k * step);
  return { values, step };
}

/**
 * y tick labels: as few digits as the tick spacing needs; exponent form for the whole axis when its
 * values are tiny or huge (a learning rate reads 2e-4, 4e-4, … rather than 0.0002, 0.0004, …).
 */
export function tickLabels(values: readonly number[], step: number): string[] {
  const top = Math.max(...values.map(Math.abs));
  const scientific = top >= 1e5 || top < 1e-2;
  return values.map((v) => {
    const a = Math.abs(v);
    if (a < step * 1e-6) return "0";
    if (!scientific) return v.toFixed(Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
    const digits = Math.max(
      0,
      Math.floor(Math.log10(a) + 1e-9) - Math.floor(Math.log10(step) + 1e-9),
    );
    return v
      .toExponential(Math.min(digits, 6))
      .replace("e+", "e")
      .replace(/\.?0+e/, "e");
  });
}

/** An x tick label (a step): 12000 -> 12k. */
export function formatStep(v: number): string {
  return v >= 10000 && v % 1000 === 0 ? `${v / 1000}k` : String(Math.round(v));
}

/** Smallest and largest value, by a loop: spreading a long run's values into Math.min overflows the stack. */
function extent(values: readonly number[]): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** [lo, hi] around the values, padded so lines do not run along the frame; never empty. */
function domain(values: number[], pad: number): [number, number] {
  let [lo, hi] = extent(values);
  if (hi - lo === 0) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return [lo - d, hi + d];
  }
  const d = (hi - lo) * pad;
  lo -= d;
  hi += d;
  return [lo, hi];
}

function fit(text: string, scale: number, width: number): string {
  const max = Math.floor((width / scale + 1) / 6);
  return text.length <= max ? text : `${text.slice(0, Math.max(1, max - 1))}~`;
}

/** The chart as a Scene (util/scene.ts); `title` is the run directory's name. */
export function curvesScene(records: readonly MetricsRecord[], title: string): Scene {
  const series = collectSeries(records);
  const panels = panelsOf(series);
  const rows = Math.ceil(panels.length / COLS);
  const height = HEADER + rows * CELL_H + MARGIN;
  const shapes: Shape[] = [];
  const text = (
    x: number,
    y: number,
    s: string,
    o: Partial<Extract<Shape, { kind: "text" }>> = {},
  ) => shapes.push({ kind: "text", x, y, text: s, color: INK, scale: 1, anchor: "start", ...o });

  // Header: the run's name, and where it stands (last step, last losses).
  text(MARGIN + 4, 26, fit(title, 2, WIDTH * 0.55), { scale: 2 });
  const last = (k: string) => series.get(k)?.at(-1);
  const facts: string[] = [];
  const lastStep = Math.max(-1, ...[...series.values()].map((s) => s.at(-1)?.[0] ?? -1));
  if (lastStep >= 0) facts.push(`step ${lastStep}`);
  const lastLoss = last("loss");
  if (lastLoss) facts.push(`loss ${lastLoss[1].toFixed(3)}`);
  const validLoss = series.get("valid_loss");
  if (validLoss && validLoss.length > 0) {
    const best = validLoss.reduce((b, p) => (p[1] < b[1] ? p : b));
    facts.push(`best valid_loss ${best[1].toFixed(3)} at step ${best[0]}`);
  }
  if (facts.length > 0)
    text(WIDTH - MARGIN - 4, 24, facts.join("  "), { anchor: "end", color: MUTED });
  shapes.push({
    kind: "line",
    x1: MARGIN,
    y1: 38.5,
    x2: WIDTH - MARGIN,
    y2: 38.5,
    stroke: GRID,
    width: 1,
  });

  // One step axis for all panels, so a moment in the run lines up across them.
  const steps = panels.flatMap((p) => p.lines.flatMap((l) => l.points.map((q) => q[0])));
  const [firstStep, lastStepSeen] = extent(steps);
  const [x0, x1] =
    steps.length === 0
      ? [0, 1]
      : firstStep === lastStepSeen
        ? [Math.max(0, firstStep - 1), firstStep + 1]
        : [firstStep, lastStepSeen];

  panels.forEach((panel, i) => {
    const cx = MARGIN + (i % COLS) * CELL_W;
    const cy = HEADER + Math.floor(i / COLS) * CELL_H;
    const left = Math.round(cx + PAD_LEFT);
    const right = Math.round(cx + CELL_W - PAD_RIGHT);
    const top = Math.round(cy + PAD_TOP);
    const bottom = Math.round(cy + CELL_H - PAD_BOTTOM);
    text(left, cy + 16, panel.title);
    // Legend, right-aligned on the title line, when a panel has more than one line.
    if (panel.lines.length > 1) {
      let lx = right;
      for (const l of [...panel.lines].reverse()) {
        const w = textWidth(l.name, 1);
        text(lx, cy + 16, l.name, { anchor: "end", color: MUTED });
        lx -= w + 6;
        shapes.push({
          kind: "line",
          x1: lx - 16,
          y1: cy + 12.5,
          x2: lx,
          y2: cy + 12.5,
          stroke: l.color,
          width: 2,
        });
        lx -= 28;
      }
    }
    const values = panel.lines.flatMap((l) => l.points.map((q) => q[1]));
    const sx = (s: number) => left + ((s - x0) / (x1 - x0)) * (right - left);
    // x grid and labels
    const xt = ticks(x0, x1, 5, 1);
    for (const v of xt.values) {
      const x = Math.round(sx(v)) + 0.5;
      shapes.push({ kind: "line", x1: x, y1: top, x2: x, y2: bottom, stroke: GRID, width: 1 });
      shapes.push({
        kind: "line",
        x1: x,
        y1: bottom,
        x2: x,
        y2: bottom + 4,
        stroke: FRAME,
        width: 1,
      });
      text(x, bottom + 15, formatStep(v), { anchor: "middle", color: MUTED });
    }
    text((left + right) / 2, bottom + 32, "step", { anchor: "middle", color: MUTED });
    text(cx + 14, (top + bottom) / 2, panel.key, {
      anchor: "middle",
      color: MUTED,
      vertical: true,
    });
    if (values.length === 0) {
      text((left + right) / 2, (top + bottom) / 2, "no data yet", {
        anchor: "middle",
        color: MUTED,
      });
    } else {
      const [y0, y1] = domain(values, 0.06);
      const sy = (v: number) => bottom - ((v - y0) / (y1 - y0)) * (bottom - top);
      const yt = ticks(y0, y1, 5);
      const labels = tickLabels(yt.values, yt.step);
      yt.values.forEach((v, k) => {
        const y = Math.round(sy(v)) + 0.5;
        shapes.push({ kind: "line", x1: left, y1: y, x2: right, y2: y, stroke: GRID, width: 1 });
        shapes.push({
          kind: "line",
          x1: left - 4,
          y1: y,
          x2: left,
          y2: y,
          stroke: FRAME,
          width: 1,
        });
        text(left - 7, y + 3.5, labels[k], { anchor: "end", color: MUTED });
      });
      for (const l of panel.lines) {
        if (l.points.length === 0) continue;
        const pts = thin(l.points).flatMap(([s, v]) => [sx(s), sy(v)]);
        shapes.push({
          kind: "polyline",
          points: pts,
          stroke: l.color,
          width: l.width,
          series: l.name,
        });
        // Evaluations are few: dots mark where each was taken; a lone point needs one to show.
        if (l.dots || l.points.length === 1) {
          for (let k = 0; k < pts.length; k += 2)
            shapes.push({
              kind: "circle",
              cx: pts[k],
              cy: pts[k + 1],
              r: 2.5,
              fill: l.color,
              series: l.name,
            });
        }
      }
    }
    // Frame: left and bottom axes.
    shapes.push({
      kind: "line",
      x1: left - 0.5,
      y1: top,
      x2: left - 0.5,
      y2: bottom + 0.5,
      stroke: FRAME,
      width: 1,
    });
    shapes.push({
      kind: "line",
      x1: left - 0.5,
      y1: bottom + 0.5,
      x2: right,
      y2: bottom + 0.5,
      stroke: FRAME,
      width: 1,
    });
  });
  return {
    width: WIDTH,
    height,
    background: "#ffffff",
    title: `${title}: training curves`,
    shapes,
  };
}

export function curvesSvg(records: readonly MetricsRecord[], title: string): string {
  return sceneToSvg(curvesScene(records, title));
}

export function curvesPng(records: readonly MetricsRecord[], title: string): Uint8Array {
  return sceneToPng(curvesScene(records, title));
}
