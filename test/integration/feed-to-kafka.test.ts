/**
 * The feed path of the foundation on real engines: replay server -> ingest -> Kafka. Every
 * valid message reaches the RSVP topic, keyed by city and without personal data; every bad one
 * reaches the dead-letter topic with its reason and raw text; nothing is dropped.
 */
import { Kafka, logLevel } from "kafkajs";
import { describe, expect, inject, it } from "vitest";
import { createRsvpParser } from "../../functions/shared/rsvp/parse.js";
import type { RsvpRecord } from "../../functions/shared/rsvp/record.js";
import { redactPersonalData } from "../../functions/shared/rsvp/redact.js";
import { startReplayServer } from "../../local/feed/replay-server.js";
import { type SyntheticMessage, syntheticMessages } from "../../local/feed/synthetic/generator.js";
import { startMinimalIngest } from "../../local/pipeline/minimal-ingest.js";
import { hasSharedData, oddExamples, SKIPPED_WITHOUT_SHARED_DATA } from "../support/shared-data.js";

const stack = inject("stack");
const kafka = new Kafka({
  clientId: "feed-to-kafka-test",
  brokers: [stack.kafkaBootstrapServer],
  logLevel: logLevel.NOTHING,
});
const rsvpTopic = stack.resources.topics.RsvpTopicName as string;
const deadLetterTopic = stack.resources.topics.DeadLetterTopicName as string;
const parse = createRsvpParser({ pseudonymKey: "feed-to-kafka-test-key-0123456789" });

interface Consumed {
  topic: string;
  key: string | null;
  value: string;
}

/** Plays `lines` through the replay server and the ingest; returns what each topic got since. */
async function playThrough(
  lines: string[],
): Promise<{ valid: Consumed[]; dead: Consumed[]; stats: ReturnType<typeof Object> }> {
  const admin = kafka.admin();
  await admin.connect();
  const startOffsets = new Map<string, Map<number, string>>();
  for (const topic of [rsvpTopic, deadLetterTopic]) {
    const offsets = await admin.fetchTopicOffsets(topic);
    startOffsets.set(topic, new Map(offsets.map((o) => [o.partition, o.high])));
  }
  await admin.disconnect();

  const feed = await startReplayServer({ source: () => lines, pacing: { kind: "asap" } });
  const ingest = await startMinimalIngest({
    feedUrl: feed.url,
    kafka,
    rsvpTopic,
    deadLetterTopic,
    parse,
  });
  await ingest.finished;
  await ingest.stop();
  await feed.close();

  const consumer = kafka.consumer({ groupId: `feed-to-kafka-${Date.now()}-${Math.random()}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [rsvpTopic, deadLetterTopic], fromBeginning: true });
  const got: Consumed[] = [];
  const expected = ingest.stats.produced + ingest.stats.deadLettered;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`consumed ${got.length} of ${expected}`)),
      30_000,
    );
    void consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const start = startOffsets.get(topic)?.get(partition) ?? "0";
        if (BigInt(message.offset) < BigInt(start)) return;
        got.push({
          topic,
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? "",
        });
        if (got.length === expected) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return {
    valid: got.filter((m) => m.topic === rsvpTopic),
    dead: got.filter((m) => m.topic === deadLetterTopic),
    stats: ingest.stats,
  };
}

describe("feed -> ingest -> Kafka", () => {
  it("routes a synthetic feed: valid records keyed by city without personal data, bad ones dead-lettered with their reason", async () => {
    const messages: SyntheticMessage[] = [];
    for (const message of syntheticMessages({ seed: "feed-to-kafka", malformedShare: 0.1 })) {
      messages.push(message);
      if (messages.length === 3000) break;
    }
    const { valid, dead, stats } = await playThrough(messages.map((m) => m.text));
    const malformed = messages.filter((m) => m.kind === "malformed");
    expect(stats.received).toBe(messages.length);
    expect(valid).toHaveLength(messages.length - malformed.length);
    expect(dead).toHaveLength(malformed.length);

    const records = valid.map((m) => JSON.parse(m.value) as RsvpRecord);
    for (const [index, record] of records.entries())
      expect(valid[index]?.key).toBe(record.city.key);
    const sentIds = messages
      .filter((m) => m.kind !== "malformed")
      .map((m) => `${m.rsvpId}@${m.mtime}`);
    expect(records.map((r) => `${r.rsvpId}@${r.mtime}`).sort()).toEqual(sentIds.sort());
    const PERSONAL_KEYS = new Set(["member_name", "photo", "other_services", "member_id"]);
    const keysOf = (value: unknown): string[] =>
      value !== null && typeof value === "object"
        ? Object.entries(value).flatMap(([key, inner]) => [key, ...keysOf(inner)])
        : [];
    for (const record of records) {
      expect(keysOf(record).filter((key) => PERSONAL_KEYS.has(key))).toEqual([]);
      expect(JSON.stringify(record)).not.toMatch(/Synthetic\d/); // the fake member names
    }

    const letters = dead.map(
      (m) => JSON.parse(m.value) as { reason: string; detail: string; raw: string },
    );
    expect(letters.map((l) => l.raw).sort()).toEqual(
      malformed.map((m) => redactPersonalData(m.text).slice(0, 8192)).sort(),
    );
    // Personal data stays out of the dead-letter topic too, whatever shape the frame had.
    for (const letter of letters)
      expect(letter.raw).not.toMatch(/Synthetic\d|example\.invalid\/photos/);
    const redacted = letters.filter((l) => l.raw.includes("[personal data removed]"));
    expect(redacted.length).toBeGreaterThan(malformed.length / 2);
    for (const letter of letters) {
      expect(letter.reason).toMatch(/^(empty|not_json|not_an_object|missing_field|invalid_field)$/);
      expect(letter.detail.length).toBeGreaterThan(0);
    }
  });

  it.skipIf(!hasSharedData)(
    `routes every odd example of the recorded feed${SKIPPED_WITHOUT_SHARED_DATA}`,
    async () => {
      const frames = oddExamples().flatMap((example) => example.frames);
      const { valid, dead } = await playThrough(frames);
      const expectedValid = frames.filter((frame) => parse(frame).ok).length;
      expect(valid).toHaveLength(expectedValid);
      expect(dead).toHaveLength(frames.length - expectedValid);
      expect(dead.length).toBeGreaterThanOrEqual(7);
    },
  );
});
