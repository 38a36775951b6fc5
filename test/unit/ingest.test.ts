/**
 * The ingest's memory bound, with a Kafka producer that is slow on purpose (the normal path runs
 * on a real broker in test/integration/ingest.test.ts): above maxInFlight the feed is paused,
 * and everything still arrives, in order, stamped with its arrival.
 */
import type { AddressInfo } from "node:net";
import type { Producer, ProducerBatch } from "kafkajs";
import { afterEach, describe, expect, it } from "vitest";
import { type WebSocket, WebSocketServer } from "ws";
import { TICK_HEADER } from "../../functions/shared/partition-tick.js";
import { createRsvpParser } from "../../functions/shared/rsvp/parse.js";
import { syntheticLines } from "../../local/feed/synthetic/generator.js";
import { take } from "../../local/feed/synthetic/sample.js";
import { createArrivalClock } from "../../tasks/ingest/arrival-clock.js";
import { FirehoseDeliveryError } from "../../tasks/ingest/firehose-writer.js";
import {
  type IngestOptions,
  MAX_MTIME_AHEAD_MS,
  resumeBound,
  startIngest,
} from "../../tasks/ingest/ingest.js";
import { RESUME_HEADER } from "../../tasks/ingest/resume-point.js";
import { type ReplayServer, startReplayServer } from "../../tasks/replay-feed/replay-server.js";

let feed: ReplayServer | undefined;
afterEach(async () => {
  await feed?.close();
});

/** A producer that takes every batch at once and keeps what it was sent, topic by topic. */
function recordingProducer() {
  const sent: { topic: string; value: string }[] = [];
  const producer = {
    sendBatch: async (batch: ProducerBatch) => {
      for (const { topic, messages } of batch.topicMessages ?? [])
        for (const m of messages) sent.push({ topic, value: String(m.value) });
      return [];
    },
  } as unknown as Producer;
  return { sent, producer };
}

/**
 * The ingest on `feedUrl` as these tests run it: the RSVP and dead-letter topics `meetup` and
 * `meetup-dlq`, Firehose taking everything, the feed played once; `others` as a test needs.
 */
const startPlayedOnce = (
  feedUrl: string,
  producer: Producer,
  others: Partial<IngestOptions> = {},
) =>
  startIngest({
    feedUrl,
    parse: createRsvpParser(),
    producer,
    rsvpTopic: "meetup",
    deadLetterTopic: "meetup-dlq",
    writeFirehose: async () => {},
    reconnectAfterNormalClose: false,
    ...others,
  });

describe("ingest backpressure", () => {
  it("stops reading the feed while Kafka is behind, and loses nothing", async () => {
    const lines: string[] = [];
    for (const line of syntheticLines({ seed: "backpressure", malformedShare: 0 })) {
      lines.push(line);
      if (lines.length === 3000) break;
    }
    feed = await startReplayServer({ source: () => lines, pacing: { kind: "asap" } });
    const delivered: string[] = [];
    let maxQueued = 0;
    const slowProducer = {
      sendBatch: async (batch: ProducerBatch) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        for (const topic of batch.topicMessages ?? [])
          for (const m of topic.messages) delivered.push(String(m.value));
        return [];
      },
    } as unknown as Producer;
    const ingest = startPlayedOnce(feed.url, slowProducer, { maxInFlight: 400 });
    const watcher = setInterval(() => {
      const c = ingest.counters();
      maxQueued = Math.max(maxQueued, c.received - c.produced - c.deadLettered);
    }, 2);
    await ingest.finished;
    clearInterval(watcher);
    const counters = ingest.counters();
    expect(counters.paused).toBeGreaterThan(0);
    // Bounded: the queue never grew far past the limit (socket buffers add a little).
    expect(maxQueued).toBeLessThan(2000);
    expect(counters.received).toBe(3000);
    expect(delivered.map((value) => JSON.parse(value).rsvpId)).toEqual(
      lines.map((line) => JSON.parse(line).rsvp_id),
    );
    // Each record carries its arrival stamp, rising strictly in the order the feed sent them:
    // what ranks versions of equal mtime that the topic's partitions deliver out of order.
    const stamps = delivered.map((value) => JSON.parse(value).arrival as number);
    expect(stamps.every((stamp, i) => i === 0 || stamp > (stamps[i - 1] as number))).toBe(true);
    expect(Math.abs((stamps[0] ?? 0) / 1000 - Date.now())).toBeLessThan(60_000);
  }, 60_000);

  it("stops reading the feed while the text held for the sinks is over its bound, whatever the count", async () => {
    // Valid messages of about 50 KB (event names are not capped): 300 of them are 30 MB of
    // text held twice (Kafka and Firehose), far under the item bound of 10,000.
    const lines: string[] = [];
    for (const line of syntheticLines({ seed: "large-lines", malformedShare: 0 })) {
      const message = JSON.parse(line) as { event: { event_name: string } };
      message.event.event_name = `Big ${"x".repeat(50_000)}`;
      lines.push(JSON.stringify(message));
      if (lines.length === 300) break;
    }
    feed = await startReplayServer({ source: () => lines, pacing: { kind: "asap" } });
    const delivered: number[] = [];
    const slow = () => new Promise<void>((resolve) => setTimeout(resolve, 10));
    const ingest = startIngest({
      feedUrl: feed.url,
      parse: createRsvpParser(),
      producer: {
        sendBatch: async (batch: ProducerBatch) => {
          await slow();
          for (const topic of batch.topicMessages ?? [])
            for (const m of topic.messages) delivered.push(JSON.parse(String(m.value)).rsvpId);
          return [];
        },
      } as unknown as Producer,
      rsvpTopic: "meetup",
      deadLetterTopic: "meetup-dlq",
      writeFirehose: slow,
      maxInFlightBytes: 1024 * 1024,
      reconnectAfterNormalClose: false,
    });
    let maxHeld = 0;
    const watcher = setInterval(() => {
      maxHeld = Math.max(maxHeld, ingest.heldBytes());
    }, 1);
    await ingest.finished;
    clearInterval(watcher);
    const counters = ingest.counters();
    expect(counters.received).toBe(300);
    expect(counters.deadLettered).toBe(0);
    expect(delivered).toEqual(lines.map((line) => JSON.parse(line).rsvp_id));
    expect(counters.paused).toBeGreaterThan(0);
    // Bounded near 1 MiB (frames already read when the feed pauses add a few), not 30 MB.
    expect(maxHeld).toBeGreaterThan(0);
    expect(maxHeld).toBeLessThan(4 * 1024 * 1024);
    expect(ingest.heldBytes()).toBe(0);
  }, 60_000);

  it("gets past a frame it cannot read even set aside, asking the feed for live messages once, and says what may be missing", async () => {
    // A feed that resends from since_mtime: every such connection meets the frame again. Limits
    // scaled down: frames over 1,000 bytes end a connection, over 2,000 the set-aside one too.
    const [a, c] = syntheticLines({ seed: "unread-frame", malformedShare: 0 });
    const huge = "x".repeat(3_000);
    const asked: (string | null)[] = [];
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise((resolve) => wss.once("listening", resolve));
    let plain = 0;
    wss.on("connection", (socket, request) => {
      const since = new URL(request.url ?? "/", "ws://feed").searchParams.get("since_mtime");
      asked.push(since);
      if (since !== null) {
        socket.send(a as string);
        socket.send(huge);
      } else if (plain++ === 0) {
        socket.send(a as string);
        socket.send(huge);
      } else {
        socket.send(c as string);
        socket.close(1000, "end of feed");
      }
    });
    const { sent, producer } = recordingProducer();
    try {
      const ingest = startPlayedOnce(
        `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`,
        producer,
        { frameLimits: { maxFrameBytes: 1_000, setAsideFrameBytes: 2_000 } },
      );
      await ingest.finished;
      // Plain, then from since_mtime with the set-aside limit (the frame unread again), then
      // live only: the feed goes on.
      expect(asked.map((since) => since !== null)).toEqual([false, true, false]);
      const ids = sent
        .filter((m) => m.topic === "meetup")
        .map((m) => JSON.parse(m.value).rsvpId as number);
      expect(new Set(ids)).toEqual(
        new Set([JSON.parse(a as string).rsvp_id, JSON.parse(c as string).rsvp_id]),
      );
      const letters = sent.filter((m) => m.topic === "meetup-dlq").map((m) => JSON.parse(m.value));
      expect(letters).toEqual([
        expect.objectContaining({
          reason: "too_large",
          detail: expect.stringMatching(
            /^a frame over 2000 bytes came after the message of \d{4}-.*left unread; the next connection asks the feed for live messages only/,
          ),
        }),
      ]);
      expect(ingest.counters().rejected).toEqual({ too_large: 1 });
    } finally {
      for (const socket of wss.clients) socket.terminate();
      await new Promise((resolve) => wss.close(resolve));
    }
  });

  it("keeps its resume point at its own clock, and dead-letters a message from far in the future", async () => {
    // The reconnect asks the feed for what changed after the newest mtime received: a message
    // ahead of the clock must not move that point past what the feed sends meanwhile. One from
    // 2099 would also pin its RSVP's state in the counting (the greatest mtime wins).
    const now = Date.UTC(2026, 11, 6, 12);
    const at = (mtime: number, seed: string) => {
      const [line] = syntheticLines({ seed, malformedShare: 0 });
      return JSON.stringify({ ...JSON.parse(line as string), mtime });
    };
    const lines = [
      at(now - 5_000, "past"),
      at(now + 60_000, "a-minute-ahead"),
      at(Date.UTC(2099, 11, 31), "far-future"),
      at(now + MAX_MTIME_AHEAD_MS + 1, "just-too-far"),
      at(now - 4_000, "past-again"),
    ];
    feed = await startReplayServer({ source: () => lines, pacing: { kind: "asap" } });
    const { sent, producer } = recordingProducer();
    const ingest = startPlayedOnce(feed.url, producer, {
      arrivalClock: createArrivalClock(() => now),
    });
    await ingest.finished;
    expect(ingest.counters()).toMatchObject({
      received: 5,
      deadLettered: 2,
      rejected: { invalid_field: 2 },
    });
    expect(sent.filter((m) => m.topic === "meetup").map((m) => JSON.parse(m.value).mtime)).toEqual([
      now - 5_000,
      now + 60_000,
      now - 4_000,
    ]);
    const letters = sent.filter((m) => m.topic === "meetup-dlq").map((m) => JSON.parse(m.value));
    expect(letters.map((letter) => letter.detail)).toEqual([
      "mtime: 2099-12-31T00:00:00.000Z is more than a day ahead of the ingest's clock (2026-12-06T12:00:00.000Z)",
      "mtime: 2026-12-07T12:00:00.001Z is more than a day ahead of the ingest's clock (2026-12-06T12:00:00.000Z)",
    ]);
    // The point stops at the clock, not at the accepted message a minute ahead.
    expect(ingest.durableMtime()).toBe(now);
    expect(resumeBound(now + 1, now * 1000)).toBe(now);
    expect(resumeBound(now - 1, now * 1000)).toBe(now - 1);
  }, 60_000);

  it("dead-letters hostile frames with their personal data redacted, and keeps reading", async () => {
    const lines: string[] = [];
    for (const line of syntheticLines({ seed: "hostile-frames", malformedShare: 0 })) {
      lines.push(line);
      if (lines.length === 2) break;
    }
    const [first, last] = lines;
    const deep = `${"[".repeat(2000)}${"]".repeat(2000)}`;
    const wrapped = JSON.stringify({
      payload: JSON.stringify({ member: { member_name: "Alice" } }),
    });
    // A value the rejection's detail quotes (a group_country that is no country code).
    const quoted = JSON.parse(first as string);
    quoted.group.group_country = JSON.stringify({ member_name: "Alice", photo: "a.jpg" });
    feed = await startReplayServer({
      source: () => [first as string, deep, wrapped, JSON.stringify(quoted), last as string],
      pacing: { kind: "asap" },
    });
    const { sent, producer } = recordingProducer();
    const ingest = startPlayedOnce(feed.url, producer);
    await ingest.finished;
    expect(ingest.counters()).toMatchObject({ received: 5, deadLettered: 3 });
    expect(sent.filter((m) => m.topic === "meetup")).toHaveLength(2);
    const letters = sent.filter((m) => m.topic === "meetup-dlq").map((m) => JSON.parse(m.value));
    expect(letters.map((letter) => letter.raw.length)).toEqual([
      expect.any(Number),
      expect.any(Number),
      expect.any(Number),
    ]);
    expect(JSON.stringify(letters)).not.toContain("Alice");
    expect(JSON.stringify(letters)).not.toContain("a.jpg");
    expect(letters[2]?.detail).toMatch(/^group\.group_country: /);
  }, 60_000);

  it("lands a line Firehose took once, sending again only what the writer names as undelivered", async () => {
    const lines: string[] = [];
    for (const line of syntheticLines({ seed: "firehose-partial", malformedShare: 0 })) {
      lines.push(line);
      if (lines.length === 200) break;
    }
    feed = await startReplayServer({ source: () => lines, pacing: { kind: "asap" } });
    const landed: string[] = [];
    let calls = 0;
    const ingest = startIngest({
      feedUrl: feed.url,
      parse: createRsvpParser(),
      producer: recordingProducer().producer,
      rsvpTopic: "meetup",
      deadLetterTopic: "meetup-dlq",
      // The first write lands every other line and gives up on the rest (a Firehose outage
      // longer than the writer's own retries); later writes land all.
      writeFirehose: async (batch) => {
        calls += 1;
        if (calls > 1) {
          landed.push(...batch);
          return;
        }
        landed.push(...batch.filter((_, i) => i % 2 === 0));
        throw new FirehoseDeliveryError(
          "records still failing",
          batch.filter((_, i) => i % 2 === 1),
        );
      },
      reconnectAfterNormalClose: false,
    });
    await ingest.finished;
    expect(calls).toBeGreaterThan(1);
    const ids = landed.map((line) => JSON.parse(line).rsvpId as number);
    expect(ids).toHaveLength(lines.length);
    expect([...ids].sort((a, b) => a - b)).toEqual(
      lines.map((line) => JSON.parse(line).rsvp_id as number).sort((a, b) => a - b),
    );
    expect(ingest.heldBytes()).toBe(0);
  }, 60_000);
});

describe("partition ticks", () => {
  /** A producer that keeps each record with its partition and headers as they were encoded. */
  function tickRecordingProducer() {
    const sent: { topic: string; partition?: number; headers: Record<string, string> }[] = [];
    const producer = {
      sendBatch: async (batch: ProducerBatch) => {
        for (const { topic, messages } of batch.topicMessages ?? [])
          for (const m of messages)
            sent.push({
              topic,
              ...(m.partition === undefined ? {} : { partition: m.partition }),
              headers: Object.fromEntries(
                Object.entries(m.headers ?? {}).map(([name, value]) => [name, String(value)]),
              ),
            });
        return [];
      },
    } as unknown as Producer;
    const ticks = () => sent.filter((record) => record.headers[TICK_HEADER] !== undefined);
    return { sent, producer, ticks };
  }

  /** A feed that sends `lines` when asked (one connection), and stays open until closed. */
  async function heldOpenFeed() {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise((resolve) => wss.once("listening", resolve));
    const connected = new Promise<WebSocket>((resolve) => wss.once("connection", resolve));
    return {
      url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`,
      send: async (lines: string[]) => {
        const socket = await connected;
        for (const line of lines) socket.send(line);
      },
      end: async () => {
        (await connected).close(1000, "end of feed");
        await new Promise((resolve) => wss.close(resolve));
      },
    };
  }

  /** The ingest on `feedUrl`, played once, with ticks. */
  const startTicking = (
    feedUrl: string,
    producer: Producer,
    partitionTicks: NonNullable<IngestOptions["partitionTicks"]>,
    others: Pick<IngestOptions, "resumeFromMtime"> = {},
  ) => startPlayedOnce(feedUrl, producer, { partitionTicks, ...others });

  const until = async (condition: () => boolean, what: string) => {
    for (let waited = 0; !condition(); waited += 10) {
      if (waited > 10_000) throw new Error(`waited 10 s for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  it("ticks every partition once there is a durable point, at start and each interval, none after the end", async () => {
    const feed = await heldOpenFeed();
    const { producer, ticks } = tickRecordingProducer();
    const ingest = startTicking(feed.url, producer, {
      everyMs: 50,
      partitions: async () => [0, 1, 2],
    });
    // No point yet (a topic without one, nothing received): a tick would carry none, and hide
    // the points under it from the next task's resume.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ticks()).toEqual([]);
    const lines = take(syntheticLines({ seed: "ticks", malformedShare: 0 }), 3);
    await feed.send(lines);
    await until(() => ticks().length >= 6, "two rounds of ticks");
    for (const tick of ticks()) {
      expect(tick.topic).toBe("meetup");
      expect(Number(tick.headers[RESUME_HEADER])).toBeGreaterThan(0);
    }
    expect(
      ticks()
        .slice(0, 6)
        .map((tick) => tick.partition),
    ).toEqual([0, 1, 2, 0, 1, 2]);
    await feed.end();
    await ingest.finished;
    const { produced, ticks: counted } = ingest.counters();
    expect([produced, counted]).toEqual([3, ticks().length]);
    const after = ticks().length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(ticks()).toHaveLength(after);
  });

  it("ticks the partitions each round lists, a partition added later too, and rides out a failing listing", async () => {
    const feed = await heldOpenFeed();
    const { producer, ticks } = tickRecordingProducer();
    const listings = [[0, 1], "fail", [0, 1, 2]] as const;
    let round = 0;
    const failures: string[] = [];
    const ingest = startTicking(feed.url, producer, {
      everyMs: 30,
      partitions: async () => {
        const listing = listings[Math.min(round++, listings.length - 1)];
        if (listing === "fail") throw new Error("metadata refused");
        return [...(listing ?? [])];
      },
      onFailure: (error) => {
        failures.push(error.message);
        throw new Error("a report that fails too");
      },
    });
    await feed.send(take(syntheticLines({ seed: "ticks-added", malformedShare: 0 }), 1));
    await until(() => round >= 6, "six rounds");
    await feed.end();
    await ingest.finished;
    expect(failures).toEqual(["metadata refused"]);
    // (A tick to a partition the producer's metadata does not know yet is lost, not sent again
    // with the records of its batch: test/unit/complete-send.test.ts.)
    const partitions = ticks().map((tick) => tick.partition);
    expect(partitions.slice(0, 5)).toEqual([0, 1, 0, 1, 2]);
    const rounds = partitions.filter((p) => p === 0).length;
    expect(rounds).toBeGreaterThanOrEqual(4);
    expect(partitions.filter((p) => p === 1)).toHaveLength(rounds);
    expect(partitions.filter((p) => p === 2)).toHaveLength(rounds - 1);
  });

  it("ticks at start when it starts from a durable point, however long the interval", async () => {
    const feed = await heldOpenFeed();
    const { producer, ticks } = tickRecordingProducer();
    const ingest = startTicking(
      feed.url,
      producer,
      { everyMs: 3_600_000, partitions: async () => [0, 1] },
      { resumeFromMtime: Date.UTC(2026, 11, 7) },
    );
    await until(() => ticks().length === 2, "the ticks at start");
    expect(ticks().map((tick) => Number(tick.headers[RESUME_HEADER]))).toEqual([
      Date.UTC(2026, 11, 7),
      Date.UTC(2026, 11, 7),
    ]);
    await feed.end();
    await ingest.finished;
  });

  it("sends no tick of a round whose listing answers after the feed ended", async () => {
    const feed = await heldOpenFeed();
    const { producer, ticks } = tickRecordingProducer();
    let listed = 0;
    const ingest = startTicking(
      feed.url,
      producer,
      {
        everyMs: 3_600_000,
        partitions: async () => {
          await new Promise((resolve) => setTimeout(resolve, 300));
          listed += 1;
          return [0, 1];
        },
      },
      // A point at start: the round at start asks for the partitions at once.
      { resumeFromMtime: Date.UTC(2026, 11, 7) },
    );
    await feed.send(take(syntheticLines({ seed: "ticks-late", malformedShare: 0 }), 1));
    await feed.end();
    await ingest.finished;
    expect(listed).toBe(0);
    await until(() => listed > 0, "the late listing");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ticks()).toEqual([]);
    expect(ingest.counters().ticks).toBe(0);
  });
});
