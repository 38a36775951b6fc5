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

/**
 * What the city-counts handler answers to events/msk-city-counts.json on an empty table: three
 * RSVPs counted (3 state writes, 4 counter writes: a day and an all-time counter for each of 2
 * cities), an exact copy unchanged, a record that is not JSON
 * dead-lettered, and the ingest's tick record (functions/shared/partition-tick.ts) counting nothing.
 */
export const mskCityCountsFirstResult = {
  records: 6,
  ticks: 1,
  counted: 3,
  changed: 0,
  refreshed: 0,
  unchanged: 1,
  deadLettered: 1,
  deadLetteredBefore: 0,
  stateWrites: 3,
  counterWrites: 4,
  conflicts: 0,
} as const;
