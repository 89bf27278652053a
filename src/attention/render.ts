// Pictures of a mask: which query may attend to which key, one panel per batch row.
//   ascii: a grid of ■ (may attend) and · (masked) with query and key indices;
//   svg:   a heat map with labels, for docs and the browser;
//   png:   the same heat map as pixels, with indices drawn in a small bitmap font.
import { encodePng } from "../util/png.js";
import type { AttendMask } from "./masks.js";

export interface MaskPicture {
  mask: AttendMask;
  B: number;
  Tq: number;
  Tk: number;
}

export function renderAscii({ mask, B, Tq, Tk }: MaskPicture): string {
  const grid = mask.attendGrid(B, Tq, Tk);
  const w = String(Math.max(Tq, Tk) - 1).length;
  const lines: string[] = [`mask: ${mask.describe()}   (■ = may attend, · = masked)`];
  for (let b = 0; b < B; b++) {
    lines.push("", `batch row ${b}: queries 0..${Tq - 1} down, keys 0..${Tk - 1} across`);
    const header = Array.from({ length: Tk }, (_, j) => String(j).padStart(w)).join(" ");
    lines.push(`${" ".repeat(w + 3)}${header}`);
    for (let i = 0; i < Tq; i++) {
      const cells = Array.from({ length: Tk }, (_, j) =>
        (grid[(b * Tq + i) * Tk + j] ? "■" : "·").padStart(w),
      );
      const open = cells.filter((c) => c.trim() === "■").length;
      lines.push(
        `q${String(i).padStart(w)}  ${cells.join(" ")}${open === 0 ? "   (attends to nothing: output 0)" : ""}`,
      );
    }
  }
  return lines.join("\n");
}

const ON = "#1f4e99";
const OFF = "#eceff3";

export function renderSvg({ mask, B, Tq, Tk }: MaskPicture): string {
  const grid = mask.attendGrid(B, Tq, Tk);
  const cell = 18;
  const margin = 34;
  const gap = 30;
  const panelW = margin + Tk * cell;
  const width = B * panelW + (B - 1) * gap + 10;
  const height = margin + Tq * cell + 40;
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="10">`,
    `<title>${esc(mask.describe())}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  for (let b = 0; b < B; b++) {
    const x0 = b * (panelW + gap) + margin;
    const y0 = margin;
    parts.push(`<text x="${x0}" y="12" font-size="11">batch row ${b} (keys →, queries ↓)</text>`);
    for (let j = 0; j < Tk; j++) {
      parts.push(
        `<text x="${x0 + j * cell + cell / 2}" y="${y0 - 5}" text-anchor="middle">${j}</text>`,
      );
    }
    for (let i = 0; i < Tq; i++) {
      parts.push(
        `<text x="${x0 - 5}" y="${y0 + i * cell + cell / 2 + 3}" text-anchor="end">${i}</text>`,
      );
      for (let j = 0; j < Tk; j++) {
        const on = grid[(b * Tq + i) * Tk + j] === 1;
        parts.push(
          `<rect x="${x0 + j * cell}" y="${y0 + i * cell}" width="${cell - 1}" height="${cell - 1}" fill="${on ? ON : OFF}"><title>q${i} → k${j}: ${on ? "may attend" : "masked"}</title></rect>`,
        );
      }
    }
  }
  parts.push(
    `<text x="4" y="${height - 8}" font-size="11">${esc(mask.describe())}: dark = may attend</text>`,
    "</svg>",
  );
  return parts.join("\n");
}

// A 3x5 bitmap font for digits, one row of 3 bits per line, top to bottom.
const DIGITS: Record<string, number[]> = {
  "0": [7, 5, 5, 5, 7],
  "1": [2, 6, 2, 2, 7],
  "2": [7, 1, 7, 4, 7],
  "3": [7, 1, 7, 1, 7],
  "4": [5, 5, 7, 1, 1],
  "5": [7, 4, 7, 1, 7],
  "6": [7, 4, 7, 5, 7],
  "7": [7, 1, 1, 1, 1],
  "8": [7, 5, 7, 5, 7],
  "9": [7, 5, 7, 1, 7],
};

export function renderPng({ mask, B, Tq, Tk }: MaskPicture): Uint8Array {
  const grid = mask.attendGrid(B, Tq, Tk);
  const scale = 2; // font pixels
  // Wide enough for the longest key index in the font (4 font pixels per digit).
  const cell = Math.max(16, 4 * scale * String(Tk - 1).length + 4);
  const label = 4 * scale * Math.max(String(Tq - 1).length, String(Tk - 1).length) + 6;
  const gap = 24;
  const top = label + 16; // room for the batch row number
  const panelW = label + Tk * cell;
  const width = B * panelW + (B - 1) * gap + 8;
  const height = top + Tq * cell + 8;
  const rgb = new Uint8Array(width * height * 3).fill(255);
  const put = (x: number, y: number, c: readonly number[]) => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    rgb.set(c, (y * width + x) * 3);
  };
  const rect = (x: number, y: number, w: number, h: number, c: readonly number[]) => {
    for (let yy = y; yy < y + h; yy++) for (let xx = x; xx < x + w; xx++) put(xx, yy, c);
  };
  const text = (s: string, x: number, y: number, c: readonly number[]) => {
    [...s].forEach((ch, k) => {
      const rows = DIGITS[ch];
      if (!rows) return;
      rows.forEach((bits, ry) => {
        for (let rx = 0; rx < 3; rx++) {
          if (bits & (4 >> rx))
            rect(x + k * 4 * scale + rx * scale, y + ry * scale, scale, scale, c);
        }
      });
    });
  };
  const on = [0x1f, 0x4e, 0x99];
  const off = [0xec, 0xef, 0xf3];
  const ink = [0x33, 0x33, 0x33];
  for (let b = 0; b < B; b++) {
    const x0 = b * (panelW + gap) + label;
    text(String(b), x0, 2, [0xc0, 0x30, 0x30]);
    for (let j = 0; j < Tk; j++) {
      if (Tk <= 40 || j % 5 === 0) text(String(j), x0 + j * cell + 2, top - 5 * scale - 3, ink);
    }
    for (let i = 0; i < Tq; i++) {
      if (Tq <= 40 || i % 5 === 0) text(String(i), x0 - label + 2, top + i * cell + 3, ink);
      for (let j = 0; j < Tk; j++) {
        rect(
          x0 + j * cell,
          top + i * cell,
          cell - 1,
          cell - 1,
          grid[(b * Tq + i) * Tk + j] ? on : off,
        );
      }
    }
  }
  return encodePng(width, height, rgb);
}
