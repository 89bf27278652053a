// A --model or --init-from value as a model directory: a path that exists is itself; a hub name
// (ORG/NAME) that is not a path is looked up in the Hugging Face cache, offline (`maskwise hub
// get ORG/NAME` puts it there), so the name a user downloaded is the name they pass.
import { existsSync } from "node:fs";
import { isAbsolute } from "node:path";
import { resolveModelPath } from "./hub.js";

/** ORG/NAME as the hub spells it: two parts, neither starting with a dot. */
const HUB_NAME = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;

export function modelDirArg(value: string): string {
  if (existsSync(value) || isAbsolute(value) || !HUB_NAME.test(value)) return value;
  return resolveModelPath(value);
}
