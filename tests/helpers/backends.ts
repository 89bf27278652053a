// The backends a suite runs on: always the reference, and the native one when its addon loads.
// Where the native backend must exist (CI, or MASKWISE_REQUIRE_NATIVE=1) its absence fails the
// run instead of silently testing less.
import { before, describe } from "node:test";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { nativeBackend } from "../../src/node/backend.js";
import type { Backend } from "../../src/tensor/backend.js";
import { setBackend } from "../../src/tensor/dispatch.js";

export function availableBackends(): Backend[] {
  const native = nativeBackend();
  if (typeof native === "string") {
    if (process.env.CI === "true" || process.env.MASKWISE_REQUIRE_NATIVE === "1") {
      throw new Error(`the native backend must be available here: ${native}`);
    }
    console.log(`# native backend unavailable, testing the reference backend only: ${native}`);
    return [new ReferenceBackend()];
  }
  return [new ReferenceBackend(), native];
}

/** Runs `body` as one describe block per backend, with that backend active. */
export function forEachBackend(name: string, body: (backend: Backend) => void): void {
  for (const backend of availableBackends()) {
    describe(`${name} [${backend.name}]`, () => {
      before(() => setBackend(backend));
      body(backend);
    });
  }
}
