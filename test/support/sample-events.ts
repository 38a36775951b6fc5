/**
 * The sample events of events/ (what `sam local invoke <Function> -e events/<file>` sends; see
 * events/README.md), parsed fresh on every call so a test may change its copy.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../local/setup/paths.js";

export function sampleEvent<T = Record<string, unknown>>(file: string): T {
  return JSON.parse(readFileSync(join(repoRoot, "events", file), "utf8")) as T;
}
