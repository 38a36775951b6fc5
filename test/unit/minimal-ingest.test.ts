/**
 * Error path of the minimal ingest, with a Kafka client that fails on purpose (the happy path
 * runs on a real broker in test/integration/feed-to-kafka.test.ts): a failed send loses
 * nothing and reorders nothing, and a Kafka that never recovers is reported, not ignored.
 */
import type { Kafka } from "kafkajs";
import { afterEach, describe, expect, it } from "vitest";
import { createRsvpParser } from "../../functions/shared/rsvp/parse.js";
import { type ReplayServer, startReplayServer } from "../../local/feed/replay-server.js";
import { syntheticLines } from "../../local/feed/synthetic/generator.js";
import { startMinimalIngest } from "../../local/pipeline/minimal-ingest.js";

interface SentBatch {
  topicMessages: { topic: string; messages: { key?: string; value: string }[] }[];
}

function flakyKafka(failures: number): {
  kafka: Kafka;
  delivered: SentBatch[];
  attempts: () => number;
} {
  const delivered: SentBatch[] = [];
  let attempts = 0;
  const producer = {
    connect: async () => {},
    disconnect: async () => {},
    sendBatch: async (batch: SentBatch) => {
      attempts += 1;
      if (attempts <= failures) throw new Error(`broker unavailable (attempt ${attempts})`);
      delivered.push(structuredClone(batch));
      return [];
    },
  };
  return {
    kafka: { producer: () => producer } as unknown as Kafka,
    delivered,
    attempts: () => attempts,
  };
}

const parse = createRsvpParser({ pseudonymKey: "minimal-ingest-test-key-0123456789" });
const lines: string[] = [];
for (const line of syntheticLines({ seed: "ingest-errors", malformedShare: 0.1 })) {
  lines.push(line);
  if (lines.length === 500) break;
}

const ingestFrom = (server: ReplayServer, kafka: Kafka) =>
  startMinimalIngest({
    feedUrl: server.url,
    kafka,
    rsvpTopic: "meetup",
    deadLetterTopic: "meetup-dlq",
    parse,
  });

let feed: ReplayServer | undefined;
afterEach(async () => {
  await feed?.close();
});

describe("minimal ingest when Kafka fails", () => {
  it("retries failed sends without losing or reordering a message", async () => {
    const { kafka, delivered, attempts } = flakyKafka(3);
    feed = await startReplayServer({
      source: () => lines,
      pacing: { kind: "rate", perSecond: 2000 },
    });
    const ingest = await ingestFrom(feed, kafka);
    await ingest.finished;
    expect(attempts()).toBeGreaterThan(3);
    // Every request stays bounded, even after the backlog the failures built up.
    const sizes = delivered.map((b) => b.topicMessages.reduce((n, t) => n + t.messages.length, 0));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(500);
    const valid = delivered.flatMap((b) =>
      b.topicMessages.filter((t) => t.topic === "meetup").flatMap((t) => t.messages),
    );
    const dead = delivered.flatMap((b) =>
      b.topicMessages.filter((t) => t.topic === "meetup-dlq").flatMap((t) => t.messages),
    );
    const expectedValid = lines.flatMap((line) => {
      const result = parse(line);
      return result.ok ? [`${result.record.rsvpId}@${result.record.mtime}`] : [];
    });
    expect(
      valid.map((m) => {
        const record = JSON.parse(m.value) as { rsvpId: number; mtime: number };
        return `${record.rsvpId}@${record.mtime}`;
      }),
    ).toEqual(expectedValid);
    expect(dead).toHaveLength(lines.length - expectedValid.length);
    expect(ingest.stats).toMatchObject({
      received: 500,
      produced: expectedValid.length,
      deadLettered: dead.length,
    });
  });

  it("reports the messages it could not write when Kafka never comes back", async () => {
    const { kafka } = flakyKafka(Number.POSITIVE_INFINITY);
    feed = await startReplayServer({ source: () => lines.slice(0, 20), pacing: { kind: "asap" } });
    const ingest = await ingestFrom(feed, kafka);
    await expect(ingest.finished).rejects.toThrow(
      /^20 messages could not be written to Kafka: broker unavailable/,
    );
    expect(ingest.stats.produced).toBe(0);
    await expect(ingest.stop()).rejects.toThrow(/could not be written to Kafka/);
  });
});
