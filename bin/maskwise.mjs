#!/usr/bin/env node
// The `maskwise` command. An installed package runs its compiled dist/ with no development
// tools. A source checkout (src/ present, tsx installed) runs the TypeScript sources through tsx,
// so a change is live without `npm run build` and a stale dist/ is never run by mistake.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "src", "cli", "main.ts");
const compiled = join(root, "dist", "cli", "main.js");

function hasTsx() {
  try {
    createRequire(join(root, "package.json")).resolve("tsx/esm/api");
    return true;
  } catch {
    return false;
  }
}

let entry;
if (existsSync(source) && hasTsx()) {
  const { register } = await import("tsx/esm/api");
  register();
  entry = source;
} else if (existsSync(compiled)) {
  entry = compiled;
} else {
  console.error(
    `maskwise: neither ${compiled} nor the sources with tsx were found (${root}): run 'npm run build' or 'npm install' there`,
  );
  process.exit(1);
}
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2));
