// Draws a Scene (./scene.ts) into RGB pixels and a PNG, with no canvas and no font files, so it
// runs the same in a browser, in Node and on a machine without fonts. Strokes are anti-aliased by
// the distance from each pixel's centre to the nearest segment (round joins and caps come free);
// a polyline's coverage is the maximum over its segments, blended once, so joints do not darken.
// Text uses the built-in 5x7 font. All arithmetic is plain float64 in a fixed order, so the same
// scene gives the same bytes.
import { GLYPH_ADVANCE, GLYPH_ASCENT, glyphRows } from "./font5x7.js";
import { encodePngDeflated } from "./png-deflated.js";
import { type Color, type Scene, type Shape, textWidth } from "./scene.js";

function parseColor(c: Color): [number, number, number] {
  const m = /^#([0-9a-f]{6})$/i.exec(c);
  if (!m) throw new Error(`raster: colour ${c} is not #rrggbb`);
  const v = Number.parseInt(m[1], 16);
  return [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
}

class Canvas {
  readonly rgb: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
    background: Color,
  ) {
    this.rgb = new Uint8Array(width * height * 3);
    const [r, g, b] = parseColor(background);
    for (let i = 0; i < this.rgb.length; i += 3) {
      this.rgb[i] = r;
      this.rgb[i + 1] = g;
      this.rgb[i + 2] = b;
    }
  }

  /** Mixes colour `c` into pixel (x, y) with weight `a` in [0, 1]. */
  blend(x: number, y: number, c: readonly number[], a: number): void {
    if (a <= 0 || x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const o = (y * this.width + x) * 3;
    if (a >= 1) {
      this.rgb[o] = c[0];
      this.rgb[o + 1] = c[1];
      this.rgb[o + 2] = c[2];
      return;
    }
    for (let k = 0; k < 3; k++) this.rgb[o + k] = Math.round(this.rgb[o + k] * (1 - a) + c[k] * a);
  }

  fill(x0: number, y0: number, w: number, h: number, c: readonly number[]): void {
    const xa = Math.max(0, Math.round(x0));
    const ya = Math.max(0, Math.round(y0));
    const xb = Math.min(this.width, Math.round(x0 + w));
    const yb = Math.min(this.height, Math.round(y0 + h));
    for (let y = ya; y < yb; y++) for (let x = xa; x < xb; x++) this.blend(x, y, c, 1);
  }

  /** Strokes the path through `pts` (x, y pairs) with the given width. */
  stroke(pts: readonly number[], width: number, c: readonly number[]): void {
    const hw = width / 2;
    const pad = hw + 1;
    let minX = Number.POSITIVE_INFINITY;
    let minY = Number.POSITIVE_INFINITY;
    let maxX = Number.NEGATIVE_INFINITY;
    let maxY = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < pts.length; i += 2) {
      minX = Math.min(minX, pts[i]);
      maxX = Math.max(maxX, pts[i]);
      minY = Math.min(minY, pts[i + 1]);
      maxY = Math.max(maxY, pts[i + 1]);
    }
    const bx = Math.max(0, Math.floor(minX - pad));
    const by = Math.max(0, Math.floor(minY - pad));
    const bw = Math.min(this.width, Math.ceil(maxX + pad)) - bx;
    const bh = Math.min(this.height, Math.ceil(maxY + pad)) - by;
    if (bw <= 0 || bh <= 0) return;
    const cover = new Float32Array(bw * bh);
    const segments = Math.max(1, pts.length / 2 - 1);
    for (let s = 0; s < segments; s++) {
      const ax = pts[2 * s];
      const ay = pts[2 * s + 1];
      const qx = pts.length >= 4 ? pts[2 * s + 2] : ax;
      const qy = pts.length >= 4 ? pts[2 * s + 3] : ay;
      const dx = qx - ax;
      const dy = qy - ay;
      const len2 = dx * dx + dy * dy;
      const x0 = Math.max(bx, Math.floor(Math.min(ax, qx) - pad));
      const x1 = Math.min(bx + bw, Math.ceil(Math.max(ax, qx) + pad));
      const y0 = Math.max(by, Math.floor(Math.min(ay, qy) - pad));
      const y1 = Math.min(by + bh, Math.ceil(Math.max(ay, qy) + pad));
      for (let y = y0; y < y1; y++) {
        const cy = y + 0.5;
        for (let x = x0; x < x1; x++) {
          const cx = x + 0.5;
          // Distance from the pixel centre to the closest point of the segment.
          const t =
            len2 > 0 ? Math.min(1, Math.max(0, ((cx - ax) * dx + (cy - ay) * dy) / len2)) : 0;
          const ex = cx - (ax + t * dx);
          const ey = cy - (ay + t * dy);
          const a = hw + 0.5 - Math.sqrt(ex * ex + ey * ey);
          if (a > 0) {
            const i = (y - by) * bw + (x - bx);
            const v = Math.min(a, 1);
            if (v > cover[i]) cover[i] = v;
          }
        }
      }
    }
    for (let y = 0; y < bh; y++)
      for (let x = 0; x < bw; x++) this.blend(bx + x, by + y, c, cover[y * bw + x]);
  }

  disc(cx: number, cy: number, r: number, c: readonly number[]): void {
    for (let y = Math.floor(cy - r - 1); y <= Math.ceil(cy + r + 1); y++) {
      for (let x = Math.floor(cx - r - 1); x <= Math.ceil(cx + r + 1); x++) {
        const a = r + 0.5 - Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
        this.blend(x, y, c, Math.min(a, 1));
      }
    }
  }

  text(s: Extract<Shape, { kind: "text" }>, c: readonly number[]): void {
    const k = s.scale;
    const w = textWidth(s.text, k);
    const start = s.anchor === "start" ? 0 : s.anchor === "middle" ? -w / 2 : -w;
    const ox = Math.round(s.x);
    const oy = Math.round(s.y);
    const u0 = Math.round(start);
    [...s.text].forEach((ch, i) => {
      const rows = glyphRows(ch);
      for (let r = 0; r < rows.length; r++) {
        for (let col = 0; col < 5; col++) {
          if (!(rows[r] & (16 >> col))) continue;
          // (u, v): the font pixel's corner along and across the text, baseline-relative.
          const u = u0 + (i * GLYPH_ADVANCE + col) * k;
          const v = (r - GLYPH_ASCENT) * k;
          // Vertical text is turned a quarter counter-clockwise about its anchor.
          if (s.vertical) this.fill(ox + v, oy - u - k, k, k, c);
          else this.fill(ox + u, oy + v, k, k, c);
        }
      }
    });
  }
}

/** The scene as width * height * 3 RGB bytes, rows top to bottom. */
export function rasterize(scene: Scene): Uint8Array {
  const cv = new Canvas(scene.width, scene.height, scene.background);
  for (const s of scene.shapes) {
    switch (s.kind) {
      case "rect":
        cv.fill(s.x, s.y, s.w, s.h, parseColor(s.fill));
        break;
      case "line":
        cv.stroke([s.x1, s.y1, s.x2, s.y2], s.width, parseColor(s.stroke));
        break;
      case "polyline":
        if (s.points.length >= 2) cv.stroke(s.points, s.width, parseColor(s.stroke));
        break;
      case "circle":
        cv.disc(s.cx, s.cy, s.r, parseColor(s.fill));
        break;
      case "text":
        cv.text(s, parseColor(s.color));
        break;
    }
  }
  return cv.rgb;
}

export function sceneToPng(scene: Scene): Uint8Array {
  return encodePngDeflated(scene.width, scene.height, rasterize(scene));
}
