import assert from "node:assert/strict";
import { test } from "node:test";
import { glyphRows } from "../../src/util/font5x7.js";
import { rasterize } from "../../src/util/raster.js";
import type { Scene } from "../../src/util/scene.js";

const px = (rgb: Uint8Array, w: number, x: number, y: number) => [
  ...rgb.subarray((y * w + x) * 3, (y * w + x) * 3 + 3),
];

test("rasterize: a 1-pixel line on a half-pixel lands on one row, on a whole pixel it is shared by two", () => {
  const scene: Scene = {
    width: 20,
    height: 10,
    background: "#ffffff",
    title: "t",
    shapes: [
      { kind: "line", x1: 2, y1: 3.5, x2: 18, y2: 3.5, stroke: "#ff0000", width: 1 },
      { kind: "line", x1: 2, y1: 7, x2: 18, y2: 7, stroke: "#0000ff", width: 1 },
    ],
  };
  const rgb = rasterize(scene);
  assert.deepEqual(px(rgb, 20, 10, 3), [255, 0, 0]);
  assert.deepEqual(px(rgb, 20, 10, 2), [255, 255, 255]);
  assert.deepEqual(px(rgb, 20, 10, 4), [255, 255, 255]);
  // On an integer y the stroke straddles two rows at half strength each.
  assert.deepEqual(px(rgb, 20, 10, 6), [128, 128, 255]);
  assert.deepEqual(px(rgb, 20, 10, 7), [128, 128, 255]);
});

test("rasterize: text draws the glyph bits at the baseline; vertical text turns them", () => {
  const base: Omit<Scene, "shapes"> = { width: 30, height: 30, background: "#ffffff", title: "t" };
  const rows = glyphRows("L");
  const flat = rasterize({
    ...base,
    shapes: [{ kind: "text", x: 5, y: 20, text: "L", color: "#000000", scale: 1, anchor: "start" }],
  });
  const turned = rasterize({
    ...base,
    shapes: [
      {
        kind: "text",
        x: 20,
        y: 25,
        text: "L",
        color: "#000000",
        scale: 1,
        anchor: "start",
        vertical: true,
      },
    ],
  });
  for (let r = 0; r < 7; r++) {
    for (let c = 0; c < 5; c++) {
      const on = (rows[r] & (16 >> c)) !== 0;
      // row r of the glyph sits 7 - r pixels above the baseline
      assert.equal(px(flat, 30, 5 + c, 20 - 7 + r)[0], on ? 0 : 255, `flat r${r} c${c}`);
      // turned a quarter counter-clockwise: columns run upward, rows run rightward
      assert.equal(px(turned, 30, 20 - 7 + r, 25 - c - 1)[0], on ? 0 : 255, `turned r${r} c${c}`);
    }
  }
});

test("font: every printable character has 7 or 9 rows of 5 bits", () => {
  for (let c = 32; c < 127; c++) {
    const rows = glyphRows(String.fromCharCode(c));
    assert.ok(rows.length === 7 || rows.length === 9, String.fromCharCode(c));
    for (const r of rows) assert.ok(r >= 0 && r < 32);
  }
  assert.equal(glyphRows("é").length, 7); // the box for anything else
});
