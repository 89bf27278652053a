// Heat maps for the inspector: masks as SVG (few cells, each with a tooltip), weights as canvas
// (many maps of many cells), both with queries down and keys across.

const ON = "#1f4e99";
const OFF = "#eceff3";

export function esc(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** Cuts long token strings so labels stay in their margin. */
function short(s: string, n = 10): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/** A boolean grid [Tq, Tk] (1 = may attend) as an SVG with token labels on both axes. */
export function maskSvg(
  data: readonly number[],
  Tq: number,
  Tk: number,
  rows: readonly string[],
  cols: readonly string[],
): string {
  const cell = Math.max(8, Math.min(18, Math.floor(360 / Math.max(Tq, Tk))));
  const left = 74;
  const top = 70;
  const w = left + Tk * cell + 6;
  const h = top + Tq * cell + 6;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="10">`,
  ];
  for (let j = 0; j < Tk; j++) {
    const x = left + j * cell + cell / 2 + 3;
    parts.push(
      `<text transform="translate(${x},${top - 4}) rotate(-60)">${esc(short(cols[j] ?? String(j)))}</text>`,
    );
  }
  for (let i = 0; i < Tq; i++) {
    const y = top + i * cell + cell / 2 + 3;
    parts.push(
      `<text x="${left - 4}" y="${y}" text-anchor="end">${esc(short(rows[i] ?? String(i)))}</text>`,
    );
    for (let j = 0; j < Tk; j++) {
      const on = data[i * Tk + j] === 1;
      parts.push(
        `<rect class="cell" x="${left + j * cell}" y="${top + i * cell}" width="${cell - 1}" height="${cell - 1}" fill="${on ? ON : OFF}"><title>${esc(`${rows[i]} → ${cols[j]}: ${on ? "may attend" : "masked"}`)}</title></rect>`,
      );
    }
  }
  parts.push("</svg>");
  return parts.join("");
}

/** White (0) to the accent colour (1). */
function shade(v: number): string {
  const t = Math.max(0, Math.min(1, v));
  const mix = (a: number, b: number) => Math.round(a + (b - a) * t);
  return `rgb(${mix(255, 0x1f)},${mix(255, 0x4e)},${mix(255, 0x99)})`;
}

/** One head's weights (Tq x Tk values from `offset` of `data`) as a small unlabelled canvas. */
export function weightsCanvas(
  data: readonly number[],
  offset: number,
  Tq: number,
  Tk: number,
): HTMLCanvasElement {
  const cell = Math.max(2, Math.min(10, Math.floor(110 / Math.max(Tq, Tk))));
  const canvas = document.createElement("canvas");
  canvas.width = Tk * cell;
  canvas.height = Tq * cell;
  const ctx = canvas.getContext("2d") as CanvasRenderingContext2D;
  for (let i = 0; i < Tq; i++) {
    for (let j = 0; j < Tk; j++) {
      ctx.fillStyle = shade(data[offset + i * Tk + j]);
      ctx.fillRect(j * cell, i * cell, cell, cell);
    }
  }
  return canvas;
}

/** The same map, large, with the tokens on both axes and each weight written in its cell. */
export function focusCanvas(
  data: readonly number[],
  offset: number,
  Tq: number,
  Tk: number,
  rows: readonly string[],
  cols: readonly string[],
): HTMLCanvasElement {
  const cell = Math.max(14, Math.min(34, Math.floor(640 / Math.max(Tq, Tk))));
  const left = 90;
  const top = 80;
  const canvas = document.createElement("canvas");
  canvas.width = left + Tk * cell + 8;
  canvas.height = top + Tq * cell + 8;
  const ctx = canvas.getContext("2d") as CanvasRenderingContext2D;
  ctx.fillStyle = "white";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.font = "11px sans-serif";
  ctx.fillStyle = "#1d2733";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let i = 0; i < Tq; i++)
    ctx.fillText(short(rows[i] ?? String(i), 12), left - 6, top + i * cell + cell / 2);
  ctx.textAlign = "left";
  for (let j = 0; j < Tk; j++) {
    ctx.save();
    ctx.translate(left + j * cell + cell / 2, top - 6);
    ctx.rotate(-Math.PI / 3);
    ctx.fillText(short(cols[j] ?? String(j), 12), 0, 0);
    ctx.restore();
  }
  ctx.textAlign = "center";
  ctx.font = "9px sans-serif";
  for (let i = 0; i < Tq; i++) {
    for (let j = 0; j < Tk; j++) {
      const v = data[offset + i * Tk + j];
      ctx.fillStyle = shade(v);
      ctx.fillRect(left + j * cell, top + i * cell, cell - 1, cell - 1);
      if (cell >= 24) {
        ctx.fillStyle = v > 0.5 ? "white" : "#1d2733";
        ctx.fillText(
          v.toFixed(2).replace(/^0/, ""),
          left + j * cell + cell / 2,
          top + i * cell + cell / 2,
        );
      }
    }
  }
  return canvas;
}
