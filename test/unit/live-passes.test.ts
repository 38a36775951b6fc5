import { describe, expect, it } from "vitest";
import { createRsvpParser } from "../../functions/shared/rsvp/parse.js";
import { syntheticLines } from "../../local/feed/synthetic/generator.js";
import { livePasses, type PassTransform } from "../../tasks/replay-feed/live-passes.js";
import { countsByRule, type RuleRecord } from "../support/counting-rule.js";

const parse = createRsvpParser();

describe("livePasses: a looping replay as new traffic", () => {
  const lines: string[] = [];
  for (const line of syntheticLines({ seed: "live", malformedShare: 0.05, updateShare: 0.2 })) {
    lines.push(line);
    if (lines.length === 200) break;
  }
  const records = (sent: (string | null)[]) =>
    sent.flatMap((line) => {
      if (line === null) return [];
      const result = parse(line);
      return result.ok ? [result.record as RuleRecord] : [];
    });

  it("makes two passes two sets of RSVPs, each counted like the recording, on the day it is sent", () => {
    let clock = Date.UTC(2026, 11, 4, 12, 0);
    const nextPass = livePasses(() => (clock += 7));
    const first = lines.map(nextPass());
    const second = lines.map(nextPass());
    const once = countsByRule(records(lines));
    const twice = countsByRule(records([...first, ...second]));
    expect(twice.rsvps).toBe(2 * once.rsvps);
    const ids = (sent: (string | null)[]) => new Set(records(sent).map((r) => r.rsvpId));
    const overlap = [...ids(first)].filter((id) => ids(second).has(id));
    expect(overlap).toEqual([]);
    // Every count is on the day of sending, and the answers are the recording's.
    for (const [key, count] of twice.counts) {
      if (count.day !== "all") expect(key.startsWith("DAY#2026-12-04#")).toBe(true);
    }
    // Each pass answers as the recording does when arrival order decides (mtimes are now the
    // time of sending): the same RSVPs' last versions, twice over.
    const inArrivalOrder = records(lines).map((r, index) => ({ ...r, mtime: index }));
    const yesNo = (counts: typeof once) =>
      [...counts.counts.values()]
        .filter((c) => c.day === "all")
        .reduce((sum, c) => ({ yes: sum.yes + c.yes, no: sum.no + c.no }), { yes: 0, no: 0 });
    const recorded = yesNo(countsByRule(inArrivalOrder));
    expect(yesNo(twice)).toEqual({ yes: 2 * recorded.yes, no: 2 * recorded.no });
  });

  it("keeps a restarted feed's ids apart from the last one's, and quick passes apart too", () => {
    const at = Date.UTC(2026, 11, 4, 12, 0);
    const line = JSON.stringify({ rsvp_id: 1_729_143_216, mtime: at, response: "yes" });
    const idOf = (rewrite: PassTransform) => JSON.parse(rewrite(line) ?? "null").rsvp_id as number;
    const firstFeed = livePasses(() => at);
    const a = idOf(firstFeed());
    const b = idOf(firstFeed()); // a pass that took no time: still its own range
    // A restart later than the quick passes ran ahead (each pass at least a ten-minute unit).
    const restarted = livePasses(() => at + 25 * 60_000);
    const c = idOf(restarted());
    expect(new Set([a, b, c]).size).toBe(3);
    for (const id of [a, b, c]) {
      expect(Number.isSafeInteger(id)).toBe(true);
      expect(id % 2 ** 31).toBe(1_729_143_216);
    }
  });

  it("sends a valid line whose id has no range to move into once, made now, and leaves it out of later passes", () => {
    // No Meetup id reaches 2^31, but the ingest takes one: sent unchanged every pass, it would
    // be the same RSVP, counted again each time its state expired.
    let clock = Date.UTC(2026, 11, 4, 12, 0);
    const nextPass = livePasses(() => (clock += 1_000));
    const [sample] = lines;
    const line = JSON.stringify({ ...JSON.parse(sample as string), rsvp_id: 2 ** 31 + 5 });
    const first = nextPass()(line);
    expect(first).not.toBeNull();
    const sent = JSON.parse(first as string);
    expect(sent.rsvp_id).toBe(2 ** 31 + 5);
    expect(sent.mtime).toBe(clock);
    expect(records([first])).toHaveLength(1);
    expect(nextPass()(line)).toBeNull();
    expect(nextPass()(line)).toBeNull();
    // Ids past JavaScript's exact integers are not read as ids at all: sent as they are.
    const huge = line.replace(String(2 ** 31 + 5), "9007199254740993");
    expect(nextPass()(huge)).toBe(huge);
  });

  it("sends malformed lines and lines without a usable id as they are", () => {
    const rewrite = livePasses(() => Date.UTC(2026, 0, 1))();
    for (const line of [
      "{not json",
      "[1,2]",
      "null",
      JSON.stringify({ rsvp_id: "12", mtime: 1 }),
      JSON.stringify({ rsvp_id: 2 ** 31, mtime: 1 }),
      JSON.stringify({ rsvp_id: 0, mtime: Date.UTC(2026, 0, 1) }),
      JSON.stringify({ rsvp_id: 12 }),
      JSON.stringify({ rsvp_id: 12, mtime: 1_767_225_657 }), // seconds: rejected at ingest, kept so
    ]) {
      expect(rewrite(line)).toBe(line);
    }
  });
});
