/**
 * The ingest's durable point: the mtime up to which every received message is held by all its
 * sinks, whatever order the sinks finish in; and the feed URL that asks for what came after.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { feedUrlSince, ResumePoint } from "../../tasks/ingest/resume-point.js";

describe("ResumePoint", () => {
  it("moves only past messages every sink holds, in the order they were received", () => {
    const point = new ResumePoint(1000);
    const a = point.received(1001, 2);
    const b = point.received(1002, 2);
    const c = point.received(undefined, 1); // a dead letter: Kafka only, no mtime
    const d = point.received(1004, 2);
    expect(point.newestMtime).toBe(1004);
    point.done(b);
    point.done(b);
    expect(point.durableMtime).toBe(1000); // a is not held yet
    point.done(a);
    expect(point.durableMtime).toBe(1000); // one sink of two
    point.done(a);
    expect(point.durableMtime).toBe(1002);
    point.done(d);
    point.done(d);
    expect(point.durableMtime).toBe(1002); // the dead letter before d is open
    point.done(c);
    expect(point.durableMtime).toBe(1004);
  });

  it("never passes a message that some sink does not hold, for any order of acknowledgements", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 2 }), { minLength: 1, maxLength: 40 }),
        fc.infiniteStream(fc.nat()),
        (sinks, picks) => {
          const point = new ResumePoint();
          const left = sinks.map((count, i) => ({
            seq: point.received(100 + i, count),
            left: count,
          }));
          const pick = picks[Symbol.iterator]();
          const acks = left.flatMap(({ seq, left: count }) => Array(count).fill(seq) as number[]);
          // Acknowledge in a random order; after each, the point covers exactly the done prefix.
          while (acks.length > 0) {
            const index = (pick.next().value as number) % acks.length;
            const [seq] = acks.splice(index, 1) as [number];
            point.done(seq);
            const entry = left[seq];
            if (entry) entry.left -= 1;
            const prefix = left.findIndex((e) => e.left > 0);
            const held = prefix === -1 ? left.length : prefix;
            // Nothing held yet: just below the first message (nothing before it was received).
            expect(point.durableMtime).toBe(99 + held);
          }
        },
      ),
    );
  });
});

describe("a task's first point", () => {
  it("is just below its first message, so a task killed before anything is held leaves one", () => {
    const point = new ResumePoint();
    expect(point.durableMtime).toBe(0);
    point.received(undefined, 1); // a dead letter first: no mtime to go by
    expect(point.durableMtime).toBe(0);
    point.received(5000, 2);
    expect(point.durableMtime).toBe(4999);
    // A point read back from the topic is kept as it is.
    const resumed = new ResumePoint(7000);
    resumed.received(7005, 2);
    expect(resumed.durableMtime).toBe(7000);
  });
});

describe("feedUrlSince", () => {
  it("asks from a millisecond before the point, keeping the URL's own parameters", () => {
    expect(feedUrlSince("ws://feed.example/rsvps?x=1", 1_700_000_000_000)).toBe(
      "ws://feed.example/rsvps?x=1&since_mtime=1699999999999",
    );
    expect(feedUrlSince("ws://feed.example/rsvps", undefined)).toBe("ws://feed.example/rsvps");
    expect(feedUrlSince("ws://feed.example/rsvps", 0)).toBe("ws://feed.example/rsvps");
  });
});
