/**
 * The ingest's durable point: the mtime up to which every received message is held by all its
 * sinks, whatever order the sinks finish in; and the feed URL that asks for what came after.
 */
import { createRequire } from "node:module";
import fc from "fast-check";
import type { Kafka } from "kafkajs";
import { describe, expect, it } from "vitest";
import {
  feedUrlSince,
  newerPoint,
  RESUME_GROUP_PREFIX,
  RESUME_HEADER,
  ResumePoint,
  readResumePoint,
  resumeHeaders,
} from "../../tasks/ingest/resume-point.js";

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

describe("a feed out of mtime order", () => {
  it("keeps the point below every message in flight, even one received after a later mtime", () => {
    const point = new ResumePoint();
    const later = point.received(200, 2);
    const earlier = point.received(150, 2);
    point.done(later);
    point.done(later);
    // 200 is held, but 150 is not: a task killed now must ask for 150 again.
    expect(point.durableMtime).toBe(149);
    point.done(earlier);
    expect(point.durableMtime).toBe(149);
    point.done(earlier);
    expect(point.durableMtime).toBe(200);
    // A message below the point goes back below it while in flight.
    const late = point.received(120, 2);
    expect(point.durableMtime).toBe(119);
    point.done(late);
    point.done(late);
    expect(point.durableMtime).toBe(200);
  });

  it("for any mtimes, dead letters and order of acknowledgements: every message at or below the point is held", () => {
    type Step =
      | { kind: "receive"; mtime: number | null; sinks: number }
      | { kind: "ack"; pick: number };
    const step = fc.oneof(
      fc.record({
        kind: fc.constant("receive" as const),
        mtime: fc.option(fc.integer({ min: 1, max: 60 }), { freq: 5 }),
        sinks: fc.integer({ min: 1, max: 2 }),
      }),
      fc.record({ kind: fc.constant("ack" as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 80 }), (steps: Step[]) => {
        const point = new ResumePoint();
        const messages: {
          seq: number;
          mtime: number | null;
          newestBefore: number;
          left: number;
        }[] = [];
        const acks: number[] = [];
        const check = () => {
          const durable = point.durableMtime;
          for (const m of messages) {
            if (m.left === 0) continue;
            // In flight: the point is below its mtime, or (a dead letter) not above the newest
            // mtime received before it.
            if (m.mtime !== null) expect(durable).toBeLessThan(m.mtime);
            else if (m.newestBefore > 0) expect(durable).toBeLessThanOrEqual(m.newestBefore);
          }
          const newest = Math.max(0, ...messages.map((m) => m.mtime ?? 0));
          expect(durable).toBeLessThanOrEqual(newest);
          if (messages.every((m) => m.left === 0)) expect(durable).toBe(newest);
        };
        for (const s of [...steps, ...Array(200).fill({ kind: "ack", pick: 0 } as Step)]) {
          if (s.kind === "receive") {
            const newestBefore = point.newestMtime;
            const seq = point.received(s.mtime ?? undefined, s.sinks);
            messages.push({ seq, mtime: s.mtime, newestBefore, left: s.sinks });
            for (let i = 0; i < s.sinks; i++) acks.push(seq);
          } else if (acks.length > 0) {
            const [seq] = acks.splice(s.pick % acks.length, 1) as [number];
            point.done(seq);
            const message = messages.find((m) => m.seq === seq);
            if (message) message.left -= 1;
          }
          check();
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("resumeHeaders (the point a record carries)", () => {
  it("is read when kafkajs encodes the record, so a resend carries the point as of then", () => {
    const point = new ResumePoint();
    const headers = resumeHeaders(point);
    const encodeHeaders = createRequire(import.meta.url)(
      "kafkajs/src/protocol/recordBatch/record/v0/index.js",
    ) as (record: { key: string; value: string; headers: object }) => { buffer: Buffer };
    const encoded = () =>
      encodeHeaders({ key: "k", value: "v", headers }).buffer.toString("latin1");
    const a = point.received(200, 1);
    expect(encoded()).toContain(RESUME_HEADER);
    expect(encoded()).toContain("199");
    point.done(a);
    expect(headers[RESUME_HEADER]).toBe("200");
    expect(encoded()).toContain("200");
    point.received(150, 1); // out of order, while a send is retried: its next encoding says 149
    expect(headers[RESUME_HEADER]).toBe("149");
    expect(encoded()).toContain("149");
    expect(encoded()).not.toContain("200");
  });
});

describe("newerPoint (the resume point read back: the newest record's)", () => {
  it("takes the later stamp, and the lower point among equal stamps", () => {
    const a = { stamp: 1_000n, point: 500 };
    expect(newerPoint(undefined, a)).toBe(a);
    expect(newerPoint(a, { stamp: 1_001n, point: 400 })).toEqual({ stamp: 1_001n, point: 400 });
    expect(newerPoint(a, { stamp: 999n, point: 900 })).toBe(a);
    expect(newerPoint(a, { stamp: 1_000n, point: 499 })).toEqual({ stamp: 1_000n, point: 499 });
    expect(newerPoint(a, { stamp: 1_000n, point: 501 })).toBe(a);
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
    // A point read back from the topic is kept until a message comes; then, as for any message
    // in flight, just below it (the feed, asked from there, sends it again).
    const resumed = new ResumePoint(7000);
    expect(resumed.durableMtime).toBe(7000);
    resumed.received(7005, 2);
    expect(resumed.durableMtime).toBe(7004);
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

describe("readResumePoint", () => {
  /** A topic with a record on partition 0, read by a consumer that crashes once it runs. */
  function crashingKafka() {
    const created: Parameters<Kafka["consumer"]>[0][] = [];
    const crashListeners: ((event: { payload: { error: Error } }) => void)[] = [];
    const kafka = {
      admin: () => ({
        connect: async () => {},
        disconnect: async () => {},
        fetchTopicOffsets: async () => [{ partition: 0, low: "0", high: "5" }],
      }),
      consumer: (config: Parameters<Kafka["consumer"]>[0]) => {
        created.push(config);
        return {
          events: { CRASH: "consumer.crash" },
          on: (event: string, listener: (typeof crashListeners)[number]) => {
            if (event === "consumer.crash") crashListeners.push(listener);
          },
          connect: async () => {},
          subscribe: async () => {},
          seek: () => {},
          disconnect: async () => {},
          // Starts, then crashes as a broker restart makes it (kafkajs: after run resolved).
          run: async () => {
            setTimeout(() => {
              for (const listener of crashListeners)
                listener({ payload: { error: new Error("The group is rebalancing") } });
            }, 5);
          },
        };
      },
    } as unknown as Kafka;
    return { kafka, created };
  }

  it("ends at once with the consumer's crash, for the caller to try again, without a restart that forgets the seeks", async () => {
    const { kafka, created } = crashingKafka();
    await expect(readResumePoint(kafka, "rsvps", 2_000)).rejects.toThrow(
      "The group is rebalancing",
    );
    const restart = created[0]?.retry?.restartOnFailure;
    expect(created[0]?.groupId.startsWith(RESUME_GROUP_PREFIX)).toBe(true);
    expect(restart && (await restart(new Error("any")))).toBe(false);
  });
});
