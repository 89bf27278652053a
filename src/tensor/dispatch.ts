// Which backend the tensor ops run on. The reference backend is the default because it runs
// everywhere; Node entry points switch to the native backend (src/node/backend.ts).
import { ReferenceBackend } from "../backend/reference.js";
import type { Backend } from "./backend.js";

let active: Backend | null = null;

export function getBackend(): Backend {
  if (active === null) active = new ReferenceBackend();
  return active;
}

export function setBackend(backend: Backend): void {
  active = backend;
}

/** Runs `fn` with `backend` active, then restores the previous one (tests compare backends). */
export function withBackend<T>(backend: Backend, fn: () => T): T {
  const previous = getBackend();
  active = backend;
  try {
    return fn();
  } finally {
    active = previous;
  }
}
