/**
 * The recorded RSVP data of ../shared/data (real messages and odd/broken ones). It exists
 * beside the repository on the developers' machines and in CI, not in a fresh clone: tests that
 * need it are skipped there, and say so in their name and on the console.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../local/setup/paths.js";

export const sharedDataDir = join(repoRoot, "..", "shared", "data");
export const hasSharedData = existsSync(join(sharedDataDir, "rsvps-sample.jsonl"));

/** What the name of a test on recorded data ends in when the data is absent (docs/testing.md quotes it). */
export const SKIPPED_SUFFIX =
  " [SKIPPED: ../shared/data is absent, as in a fresh clone; the synthetic-feed tests cover the same paths]";
export const SKIPPED_WITHOUT_SHARED_DATA = hasSharedData ? "" : SKIPPED_SUFFIX;

if (!hasSharedData) {
  process.stderr.write(`note: ${sharedDataDir} not found: tests on recorded data are skipped\n`);
}

export function sharedLines(file: "rsvps-sample.jsonl" | "odd-examples.jsonl"): string[] {
  return readFileSync(join(sharedDataDir, file), "utf8")
    .split("\n")
    .filter((line) => line !== "");
}

export interface OddExample {
  id: string;
  category: string;
  note: string;
  /** The texts the feed would have sent for this example, one frame each. */
  frames: string[];
}

export function oddExamples(): OddExample[] {
  return sharedLines("odd-examples.jsonl").map((line) => {
    const example = JSON.parse(line) as {
      id: string;
      category: string;
      note: string;
      raw?: string;
      record?: unknown;
      records?: unknown[];
    };
    const frames =
      example.raw !== undefined
        ? [example.raw]
        : example.record !== undefined
          ? [JSON.stringify(example.record)]
          : (example.records ?? []).map((record) => JSON.stringify(record));
    return { id: example.id, category: example.category, note: example.note, frames };
  });
}
