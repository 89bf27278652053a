// A picture as a short list of shapes (rectangles, lines, polylines, dots, text), drawn two ways
// from the same list: as SVG here, and as pixels by ./raster.ts. Charts build a Scene once, so
// curves.svg and curves.png cannot drift apart. Text is measured in the cells of the built-in
// 5x7 font (./font5x7.ts): GLYPH_ADVANCE * scale pixels a character. The SVG asks for a
// monospace font of the same advance, so the layout holds in both.
import { GLYPH_ADVANCE } from "./font5x7.js";

/** "#rrggbb". */
export type Color = string;

export type Shape =
  | { kind: "rect"; x: number; y: number; w: number; h: number; fill: Color }
  | {
      kind: "line";
      x1: number;
      y1: number;
      x2: number;
      y2: number;
      stroke: Color;
      width: number;
    }
  | {
      kind: "polyline";
      /** x0, y0, x1, y1, … */
      points: number[];
      stroke: Color;
      width: number;
      /** Names the data series (an SVG data attribute; tests count points by it). */
      series?: string;
    }
  | { kind: "circle"; cx: number; cy: number; r: number; fill: Color; series?: string }
  | {
      kind: "text";
      /** The baseline's anchor point. */
      x: number;
      y: number;
      text: string;
      color: Color;
      /** Font pixels are scale x scale screen pixels (1: 6 px a character, 2: 12 px). */
      scale: number;
      anchor: "start" | "middle" | "end";
      /** Reads bottom to top (a y-axis label). */
      vertical?: boolean;
    };

export interface Scene {
  width: number;
  height: number;
  background: Color;
  /** The document title (SVG <title>). */
  title: string;
  shapes: Shape[];
}

/** Width of a text in screen pixels (the last column's blank gap not counted). */
export function textWidth(text: string, scale: number): number {
  return text.length === 0 ? 0 : (text.length * GLYPH_ADVANCE - 1) * scale;
}

const num = (v: number) => String(Math.round(v * 100) / 100);

export function escapeXml(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

export function sceneToSvg(scene: Scene): string {
  const { width, height } = scene;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace">`,
    `<title>${escapeXml(scene.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="${scene.background}"/>`,
  ];
  for (const s of scene.shapes) {
    switch (s.kind) {
      case "rect":
        out.push(
          `<rect x="${num(s.x)}" y="${num(s.y)}" width="${num(s.w)}" height="${num(s.h)}" fill="${s.fill}"/>`,
        );
        break;
      case "line":
        out.push(
          `<line x1="${num(s.x1)}" y1="${num(s.y1)}" x2="${num(s.x2)}" y2="${num(s.y2)}" stroke="${s.stroke}" stroke-width="${num(s.width)}"/>`,
        );
        break;
      case "polyline": {
        const pts: string[] = [];
        for (let i = 0; i < s.points.length; i += 2)
          pts.push(`${num(s.points[i])},${num(s.points[i + 1])}`);
        const series = s.series === undefined ? "" : ` data-series="${escapeXml(s.series)}"`;
        out.push(
          `<polyline${series} points="${pts.join(" ")}" fill="none" stroke="${s.stroke}" stroke-width="${num(s.width)}" stroke-linejoin="round" stroke-linecap="round"/>`,
        );
        break;
      }
      case "circle": {
        const series = s.series === undefined ? "" : ` data-series="${escapeXml(s.series)}"`;
        out.push(
          `<circle${series} cx="${num(s.cx)}" cy="${num(s.cy)}" r="${num(s.r)}" fill="${s.fill}"/>`,
        );
        break;
      }
      case "text": {
        // A monospace font whose advance is 0.6 em gives GLYPH_ADVANCE * scale pixels a character.
        const size = (GLYPH_ADVANCE * s.scale) / 0.6;
        const anchor = s.anchor === "start" ? "" : ` text-anchor="${s.anchor}"`;
        const rotate = s.vertical ? ` transform="rotate(-90 ${num(s.x)} ${num(s.y)})"` : "";
        out.push(
          `<text x="${num(s.x)}" y="${num(s.y)}" font-size="${num(size)}" fill="${s.color}"${anchor}${rotate}>${escapeXml(s.text)}</text>`,
        );
        break;
      }
    }
  }
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
