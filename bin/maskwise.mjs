#!/usr/bin/env node
// The `maskwise` command. In a source checkout it runs the TypeScript sources through tsx;
// an installed package that ships a compiled dist/ runs that instead.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const compiled = join(root, "dist", "cli", "main.js");
let entry;
if (existsSync(join(root, "src", "cli", "main.ts"))) {
  const { register } = await import("tsx/esm/api");
  register();
  entry = join(root, "src", "cli", "main.ts");
} else {
  entry = compiled;
}
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2));
