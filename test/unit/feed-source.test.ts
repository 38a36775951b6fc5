/** The feed `npm start` and `npm run replay` play, and its pace (local/feed/feed-source.ts). */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  describePacing,
  feedChoiceProblem,
  feedPacing,
  feedSource,
} from "../../local/feed/feed-source.js";
import { syntheticLines } from "../../local/feed/synthetic/generator.js";
import { take } from "../../local/feed/synthetic/sample.js";

describe("feedPacing", () => {
  it("plays the synthetic feed at 25/s, a recording at its own timing x 60, unless told", () => {
    expect(feedPacing({ seed: "1" })).toEqual({ kind: "rate", perSecond: 25 });
    expect(feedPacing({ seed: "1", rate: 200 })).toEqual({ kind: "rate", perSecond: 200 });
    expect(feedPacing({ seed: "1", input: "feed.jsonl" })).toEqual({
      kind: "recorded",
      speedup: 60,
    });
    expect(feedPacing({ seed: "1", input: "feed.jsonl", speedup: 600 })).toEqual({
      kind: "recorded",
      speedup: 600,
    });
    expect(feedPacing({ seed: "1", input: "feed.jsonl", rate: 30 })).toEqual({
      kind: "rate",
      perSecond: 30,
    });
    expect(feedPacing({ seed: "1", input: "feed.jsonl", rate: 30, asap: true })).toEqual({
      kind: "asap",
    });
  });

  it("is said in words", () => {
    expect(describePacing({ kind: "rate", perSecond: 30 })).toBe("30 messages/s");
    expect(describePacing({ kind: "asap" })).toBe("as fast as the ingest reads");
    expect(describePacing({ kind: "recorded", speedup: 60 })).toBe("recorded timing x 60");
  });
});

describe("feedSource", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("without a recording, is the seeded synthetic feed from now on, at the rate's spacing", () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 4, 1) });
    const played = feedSource(
      { seed: "7", rate: 50, malformedShare: 0.5 },
      () => {},
    )() as Iterable<string>;
    const expected = syntheticLines({
      seed: "7",
      startTime: Date.UTC(2026, 4, 1),
      meanIntervalMs: 20,
      malformedShare: 0.5,
    });
    expect(take(played, 30)).toEqual(take(expected, 30));
  });
});

describe("feedChoiceProblem", () => {
  const dir = mkdtempSync(join(tmpdir(), "feed-choice-"));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it("takes a recording with a line, and the synthetic feed at a positive rate", async () => {
    expect(await feedChoiceProblem({ seed: "1" })).toBeNull();
    expect(await feedChoiceProblem({ seed: "1", rate: 0.5 })).toBeNull();
    // A blank start is fine as long as a line follows (a replay skips nothing itself).
    const input = file("one.jsonl", `\n  \n${"x".repeat(70_000)}\n{"rsvp_id":1}\n`);
    expect(await feedChoiceProblem({ seed: "1", input, speedup: 600 })).toBeNull();
  });

  it("says in one sentence what would otherwise end every connection unseen", async () => {
    expect(await feedChoiceProblem({ seed: "1", rate: 0 })).toBe(
      "--rate must be above 0 messages/s, not 0",
    );
    expect(await feedChoiceProblem({ seed: "1", input: "x", speedup: 0 })).toBe(
      "--speedup must be above 0, not 0",
    );
    expect(await feedChoiceProblem({ seed: "1", rate: Number.POSITIVE_INFINITY })).toMatch(
      /^--rate must be above 0/,
    );
    const missing = join(dir, "missing.jsonl");
    expect(await feedChoiceProblem({ seed: "1", input: missing })).toBe(
      `--input ${missing}: no such file`,
    );
    expect(await feedChoiceProblem({ seed: "1", input: dir })).toBe(`--input ${dir}: not a file`);
    const empty = file("empty.jsonl", "");
    expect(await feedChoiceProblem({ seed: "1", input: empty })).toBe(
      `--input ${empty}: no lines to replay (it is empty or blank)`,
    );
    // Blank past one read's chunk too: the whole file is looked at, not its start.
    const blank = file("blank.jsonl", `${" \n".repeat(40_000)}\r\n`);
    expect(await feedChoiceProblem({ seed: "1", input: blank })).toBe(
      `--input ${blank}: no lines to replay (it is empty or blank)`,
    );
  });
});
