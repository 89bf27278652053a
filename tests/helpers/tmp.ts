// Temporary directories for tests, removed when the test process exits (node:test runs each
// test file in its own process), whether its tests passed or failed.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const made: string[] = [];
let hooked = false;

/** A fresh directory `<os tmp>/maskwise-<name>-XXXXXX`, removed at process exit. */
export function tempDir(name: string): string {
  if (!hooked) {
    hooked = true;
    process.on("exit", () => {
      for (const dir of made) rmSync(dir, { recursive: true, force: true });
    });
  }
  const dir = mkdtempSync(join(tmpdir(), `maskwise-${name}-`));
  made.push(dir);
  return dir;
}
