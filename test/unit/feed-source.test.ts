/** The feed `npm start` and `npm run replay` play, and its pace (local/feed/feed-source.ts). */
import { afterEach, describe, expect, it, vi } from "vitest";
import { describePacing, feedPacing, feedSource } from "../../local/feed/feed-source.js";
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
    const played = feedSource({ seed: "7", rate: 50, malformedShare: 0.5 })() as Iterable<string>;
    const expected = syntheticLines({
      seed: "7",
      startTime: Date.UTC(2026, 4, 1),
      meanIntervalMs: 20,
      malformedShare: 0.5,
    });
    expect(take(played, 30)).toEqual(take(expected, 30));
  });
});
