// The products of one decoding step of `maskwise bench decode`'s model, timed on the native
// addon alone: per decoder layer the self-attention q, k, v, o and cross-attention q, o
// projections [256 x 256] and the feed-forward [1024 x 256] and [256 x 1024], three layers, then
// the output projection [8000 x 256], each a product of `rows` rows (1: greedy, 5: beam 5) by a
// weight stored [out, in]. The weights (19 MB) are read in turn, as a decode reads them, so each
// comes from memory or the shared cache, not from the core's own; the figures are the weights'
// bytes over the time, as GB/s.
//
//   npm run build:native && node bench/decode-products.mjs [--rows 1,5] [--threads 1,2] [--steps 400]
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const addon = require("../build/Release/maskwise_native.node");

const flag = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
};
const rowsList = flag("rows", "1,5").split(",").map(Number);
const threadsList = flag("threads", "1,2").split(",").map(Number);
const steps = Number(flag("steps", "400"));

const shapes = []; // [out, in]
for (let l = 0; l < 3; l++) shapes.push(...Array(6).fill([256, 256]), [1024, 256], [256, 1024]);
const random = (n) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
const weights = shapes.map(([n, k]) => random(n * k));
const output = random(8000 * 256);
const x = random(8 * 1024);
const y = new Float32Array(8 * 8000);

const product = (m, n, k, w) =>
  addon.gemm(1, m, n, k, false, true, 1, 0, x, 0, k, 0, w, 0, k, 0, y, 0, n, 0, false, null, false);

const layerBytes = shapes.reduce((s, [n, k]) => s + n * k * 4, 0);
const outputBytes = output.length * 4;
for (const threads of threadsList) {
  addon.setThreads(threads);
  for (const m of rowsList) {
    const layers = () => {
      for (let i = 0; i < shapes.length; i++) product(m, shapes[i][0], shapes[i][1], weights[i]);
    };
    const project = () => product(m, 8000, 256, output);
    for (let i = 0; i < 50; i++) {
      layers();
      project();
    }
    let tl = 0;
    let tp = 0;
    for (let i = 0; i < steps; i++) {
      const t0 = process.hrtime.bigint();
      layers();
      const t1 = process.hrtime.bigint();
      project();
      tp += Number(process.hrtime.bigint() - t1);
      tl += Number(t1 - t0);
    }
    const us = (ns) => (ns / steps / 1000).toFixed(0);
    const gbs = (bytes, ns) => (bytes / (ns / steps)).toFixed(1);
    console.log(
      `threads ${threads}, rows ${m}: decoder layers ${us(tl)} us (${gbs(layerBytes, tl)} GB/s), ` +
        `output projection ${us(tp)} us (${gbs(outputBytes, tp)} GB/s)`,
    );
  }
}
