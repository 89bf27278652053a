// `maskwise bench decode --runs N`: the run count is checked before any work starts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { command } from "../../src/cli/commands/bench-decode.js";
import { MaskwiseError } from "../../src/util/errors.js";

test("bench decode rejects a run count that is not a positive integer", async () => {
  for (const bad of ["0", "-3", "2.5", "many"]) {
    await assert.rejects(
      async () => command.run(["--runs", bad]),
      (e: unknown) => e instanceof MaskwiseError && /--runs/.test(e.message),
      bad,
    );
  }
});
