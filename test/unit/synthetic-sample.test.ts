/** Finite samples of the synthetic feed (local/feed/synthetic/sample.ts). */
import { describe, expect, it } from "vitest";
import { createRsvpParser } from "../../functions/shared/rsvp/parse.js";
import { syntheticMessages } from "../../local/feed/synthetic/generator.js";
import { syntheticRecords, take } from "../../local/feed/synthetic/sample.js";

describe("take", () => {
  it("takes the first items of an endless feed, and all of a short one", () => {
    expect(take(syntheticMessages({ seed: "take" }), 3).map((m) => m.mtime)).toEqual(
      take(syntheticMessages({ seed: "take" }), 5)
        .slice(0, 3)
        .map((m) => m.mtime),
    );
    expect(take([1, 2], 5)).toEqual([1, 2]);
    expect(take([1, 2], 0)).toEqual([]);
  });
});

describe("syntheticRecords", () => {
  it("yields the parsed records of the valid messages, in feed order, and passes over the rest", () => {
    const parse = createRsvpParser();
    const options = { seed: "records", malformedShare: 0.3 };
    const messages = take(syntheticMessages(options), 200);
    const valid = messages.flatMap((message) => {
      const result = parse(message.text);
      return result.ok ? [result.record] : [];
    });
    expect(valid.length).toBeLessThan(messages.length);
    expect(take(syntheticRecords(options, parse), valid.length)).toEqual(valid);
  });
});
