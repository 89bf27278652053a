// The dependency direction of docs/architecture.md, checked from the imports themselves, so a
// wrong arrow fails CI instead of growing quietly. Also: only src/node and src/cli may import
// `node:*` (the rest must run in a browser), with the native addon loader as the one
// documented exception inside src/node.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";

const src = join(import.meta.dirname, "..", "..", "src");

/** Layer of each top-level folder of src/: a module may import only from its layer or below. */
const LAYERS: Record<string, number> = {
  util: 0,
  tokenizer: 0,
  eval: 0,
  tensor: 1,
  backend: 1,
  nn: 2,
  optim: 2,
  data: 2,
  io: 2,
  attention: 3,
  models: 4,
  objectives: 5,
  decode: 5,
  train: 6,
  node: 7,
  cli: 8,
};
/** Folders that may import node:* modules. */
const NODE_ALLOWED = new Set(["node", "cli"]);
/** Same-layer pairs that may not import each other (independent siblings). */
const FORBIDDEN = new Set([
  "tokenizer->eval",
  "eval->tokenizer",
  "decode->objectives",
  "objectives->decode",
]);

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

const importRe =
  /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

test("imports run downward through the layers, and node:* stays in src/node and src/cli", () => {
  const problems: string[] = [];
  for (const file of files(src)) {
    const rel = relative(src, file);
    const top = rel.split("/")[0];
    if (!(top in LAYERS)) {
      if (rel.includes("/")) problems.push(`${rel}: folder '${top}' has no layer in this test`);
      continue;
    }
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(importRe)) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith("node:")) {
        if (!NODE_ALLOWED.has(top))
          problems.push(`${rel}: imports ${spec} (only src/node and src/cli may)`);
        continue;
      }
      if (!spec.startsWith(".")) continue;
      const target = relative(src, resolve(dirname(file), spec));
      const targetTop = target.split("/")[0];
      if (!(targetTop in LAYERS) || targetTop === top) continue;
      if (LAYERS[targetTop] > LAYERS[top] || FORBIDDEN.has(`${top}->${targetTop}`)) {
        problems.push(
          `${rel}: imports ${spec} (layer ${top}=${LAYERS[top]} -> ${targetTop}=${LAYERS[targetTop]})`,
        );
      }
    }
  }
  assert.deepEqual(problems, []);
});

test("the checker sees a violation when there is one", () => {
  const fake = 'import { x } from "../cli/main.js";\nimport { readFileSync } from "node:fs";';
  const specs = [...fake.matchAll(importRe)].map((m) => m[1] ?? m[2]);
  assert.deepEqual(specs, ["../cli/main.js", "node:fs"]);
});
