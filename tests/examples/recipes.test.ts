// The recipes in examples/ stay runnable as the CLI changes: every run.sh is valid POSIX shell
// (`sh -n`), every `npx maskwise …` it runs names a command that exists, and every flag it passes
// (written out, or through a variable of flags such as $SIZE, or through a shell function's "$@")
// is one that command's --help declares. A full SMOKE=1 run takes 20-40 s per recipe on two
// cores, too long for the suite; this check costs one --help per command.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { commands } from "../../src/cli/commands/index.js";

const root = join(import.meta.dirname, "..", "..");
const examples = join(root, "examples");
const bin = join(root, "bin", "maskwise.mjs");
const recipes = readdirSync(examples).filter((d) => existsSync(join(examples, d, "run.sh")));

/** The script with backslash-continued lines joined. */
function logicalLines(script: string): string[] {
  return script.replace(/\\\n\s*/g, " ").split("\n");
}

/** Flags named in a stretch of shell words, expanding $VAR and "$@" as described above. */
function flagsOf(words: string, vars: Map<string, Set<string>>, args: Set<string>): Set<string> {
  const out = new Set<string>();
  for (const m of words.matchAll(/(?:^|\s)(--[a-z][a-z0-9-]*)/g)) out.add(m[1]);
  for (const m of words.matchAll(/\$\{?([A-Z_][A-Z0-9_]*)\}?/g))
    for (const f of vars.get(m[1]) ?? []) out.add(f);
  if (words.includes('"$@"')) for (const f of args) out.add(f);
  return out;
}

interface Use {
  path: string[];
  flags: Set<string>;
  line: string;
}

/** Every `npx maskwise` invocation of a script: its command words and flags. */
function invocations(script: string): Use[] {
  const lines = logicalLines(script);
  // Variables that hold flags: NAME="--a x --b y" (every assignment of NAME counts).
  const vars = new Map<string, Set<string>>();
  for (const line of lines) {
    const m = line.match(/^\s*([A-Z_][A-Z0-9_]*)="(--[^"]*)"/);
    if (m) vars.set(m[1], new Set([...(vars.get(m[1]) ?? []), ...flagsOf(m[2], vars, new Set())]));
  }
  // Flags given to each shell function at its call sites, for the "$@" inside it.
  const functions = [...script.matchAll(/^([a-z_][a-z0-9_]*)\(\) \{/gm)].map((m) => m[1]);
  const argsOf = new Map<string, Set<string>>();
  for (const name of functions) {
    const args = new Set<string>();
    for (const line of lines) {
      const call = line.match(new RegExp(`(?:^|[\\s($])${name}\\s([^)]*)`));
      if (call && !line.includes(`${name}()`))
        for (const f of flagsOf(call[1], vars, new Set())) args.add(f);
    }
    argsOf.set(name, args);
  }
  const uses: Use[] = [];
  let current = "";
  for (const line of lines) {
    const fn = line.match(/^([a-z_][a-z0-9_]*)\(\) \{/);
    if (fn) current = fn[1];
    for (const part of line.split(/\|/)) {
      const at = part.indexOf("npx maskwise ");
      if (at < 0) continue;
      const rest = part.slice(at + "npx maskwise ".length).split(/\s[<>]|\s2>|\)\s*$/)[0];
      const words = rest.trim().split(/\s+/);
      const entry = commands
        .filter((c) => c.path.every((w, i) => words[i] === w))
        .sort((a, b) => b.path.length - a.path.length)[0];
      assert.ok(entry, `no maskwise command for '${rest.trim()}'`);
      uses.push({
        path: entry.path,
        flags: flagsOf(rest, vars, argsOf.get(current) ?? new Set()),
        line: line.trim(),
      });
    }
  }
  return uses;
}

test("there are recipes, each with a README that has a Results section", () => {
  for (const name of [
    "multi30k-de-en",
    "tatoeba-zh",
    "pretrain-finetune",
    "mlm-encoder",
    "dialogsum",
    "prefix-lm",
    "llama-dialogsum-lora",
  ]) {
    assert.ok(recipes.includes(name), name);
    const readme = readFileSync(join(examples, name, "README.md"), "utf8");
    assert.match(readme, /^## Results$/m, name);
    assert.match(readme, /SMOKE=1/, name);
  }
});

test("every run.sh parses as POSIX shell and writes RESULTS.json", () => {
  for (const name of recipes) {
    const path = join(examples, name, "run.sh");
    const r = spawnSync("sh", ["-n", path], { encoding: "utf8" });
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    assert.match(readFileSync(path, "utf8"), /RESULTS\.json/, name);
  }
});

test("every maskwise flag a recipe passes is declared by that command", () => {
  const help = new Map<string, string>();
  let checked = 0;
  for (const name of recipes) {
    const uses = invocations(readFileSync(join(examples, name, "run.sh"), "utf8"));
    assert.ok(uses.length > 0, `${name} runs no maskwise command`);
    for (const use of uses) {
      const key = use.path.join(" ");
      if (!help.has(key)) {
        const r = spawnSync(process.execPath, [bin, ...use.path, "--help"], { encoding: "utf8" });
        assert.equal(r.status, 0, `maskwise ${key} --help: ${r.stderr}`);
        help.set(key, r.stdout);
      }
      const text = help.get(key) as string;
      for (const flag of use.flags) {
        assert.ok(
          new RegExp(`${flag}(?![a-z0-9-])`).test(text),
          `${name}: maskwise ${key} does not declare ${flag} (${use.line})`,
        );
        checked++;
      }
    }
  }
  assert.ok(checked > 50, `only ${checked} flags found: the script parser missed invocations`);
});

test("the flag check catches a flag a command does not declare", () => {
  const uses = invocations(
    'SIZE="--model tiny --bogus-flag 3"\nnpx maskwise train --task translation $SIZE \\\n  --out x\n',
  );
  assert.deepEqual(uses[0].path, ["train"]);
  assert.deepEqual([...uses[0].flags].sort(), ["--bogus-flag", "--model", "--out", "--task"]);
});
