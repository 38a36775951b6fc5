/**
 * The ingest task on real engines: replay server -> ingest -> Kafka and Firehose (moto, into
 * S3). Every valid message reaches the RSVP topic, keyed by city and without personal data,
 * and the raw bucket; every bad one reaches the dead-letter topic with its reason and raw text
 * (personal data removed); nothing is dropped.
 */
import { FirehoseClient } from "@aws-sdk/client-firehose";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createRsvpParser } from "../../functions/shared/rsvp/parse.js";
import type { RsvpRecord } from "../../functions/shared/rsvp/record.js";
import { redactPersonalData } from "../../functions/shared/rsvp/redact.js";
import { type SyntheticMessage, syntheticMessages } from "../../local/feed/synthetic/generator.js";
import { awsClientConfig } from "../../local/stack/aws-endpoint.js";
import { createFirehoseWriter } from "../../tasks/ingest/firehose-writer.js";
import { type IngestCounters, startIngest } from "../../tasks/ingest/ingest.js";
import { startReplayServer } from "../../tasks/replay-feed/replay-server.js";
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
const aws = awsClientConfig({ endpoint: stack.awsEndpoint, region: stack.region });
const firehose = new FirehoseClient(aws);
const s3 = new S3Client({ ...aws, forcePathStyle: true });
const rawBucket = stack.resources.buckets.RawBucket as string;
afterAll(() => {
  firehose.destroy();
  s3.destroy();
});

/** Every line Firehose has landed in the raw bucket so far. */
async function rawLines(): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: rawBucket }));
  const bodies = await Promise.all(
    (listed.Contents ?? []).map(
      async ({ Key }) =>
        (
          await s3.send(new GetObjectCommand({ Bucket: rawBucket, Key }))
        ).Body?.transformToString() ?? "",
    ),
  );
  return bodies.join("").split("\n").filter(Boolean);
}

interface Consumed {
  topic: string;
  key: string | null;
  value: string;
}

/** Plays `lines` through the replay server and the ingest; returns what each topic got since. */
async function playThrough(
  lines: string[],
): Promise<{ valid: Consumed[]; dead: Consumed[]; stats: IngestCounters }> {
  const admin = kafka.admin();
  await admin.connect();
  const startOffsets = new Map<string, Map<number, string>>();
  for (const topic of [rsvpTopic, deadLetterTopic]) {
    const offsets = await admin.fetchTopicOffsets(topic);
    startOffsets.set(topic, new Map(offsets.map((o) => [o.partition, o.high])));
  }
  await admin.disconnect();

  const feed = await startReplayServer({ source: () => lines, pacing: { kind: "asap" } });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const ingest = startIngest({
    feedUrl: feed.url,
    parse,
    producer,
    rsvpTopic,
    deadLetterTopic,
    writeFirehose: createFirehoseWriter({
      client: firehose,
      deliveryStreamName: stack.resources.deliveryStreams.RawDeliveryStream as string,
    }),
    reconnectAfterNormalClose: false,
  });
  await ingest.finished;
  await producer.disconnect();
  await feed.close();
  const stats = ingest.counters();

  const consumer = kafka.consumer({ groupId: `feed-to-kafka-${Date.now()}-${Math.random()}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [rsvpTopic, deadLetterTopic], fromBeginning: true });
  const got: Consumed[] = [];
  const expected = stats.produced + stats.deadLettered;
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
    stats,
  };
}

describe("feed -> ingest -> Kafka and Firehose", () => {
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
    expect(stats.sentToFirehose).toBe(records.length);
    // Firehose landed the same records, newline-delimited, in the raw bucket.
    const landed = new Set(
      (await rawLines()).map((line) => {
        const record = JSON.parse(line) as Partial<RsvpRecord>;
        return `${record.rsvpId}@${record.mtime}`;
      }),
    );
    for (const id of sentIds) expect(landed.has(id)).toBe(true);
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
