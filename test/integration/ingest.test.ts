/**
 * The ingest task on real engines: replay server -> ingest -> Kafka and Firehose (moto, into
 * S3). Every valid message reaches the RSVP topic, keyed by city and without personal data,
 * and the raw bucket; every bad one reaches the dead-letter topic with its reason and raw text
 * (personal data removed); nothing is dropped.
 */
import { createHash } from "node:crypto";
import { FirehoseClient } from "@aws-sdk/client-firehose";
import { CompressionTypes } from "kafkajs";
import { afterAll, describe, expect, inject, it } from "vitest";
import { decodeBatch } from "../../functions/city-counts/counting.js";
import { messagesOf } from "../../functions/shared/msk-event.js";
import { TICK_HEADER } from "../../functions/shared/partition-tick.js";
import { createRsvpParser } from "../../functions/shared/rsvp/parse.js";
import type { RsvpRecord } from "../../functions/shared/rsvp/record.js";
import { syntheticMessages } from "../../local/feed/synthetic/generator.js";
import { take } from "../../local/feed/synthetic/sample.js";
import { toMskEvent } from "../../local/pipeline/msk-event-source.js";
import { awsClientConfig } from "../../local/stack/aws-endpoint.js";
import {
  deadLetterRaw,
  type Ingest,
  type IngestCounters,
  type IngestOptions,
  KAFKA_BATCH_BYTES,
} from "../../tasks/ingest/ingest.js";
import { ingestProducer } from "../../tasks/ingest/renewable-producer.js";
import { RESUME_HEADER } from "../../tasks/ingest/resume-point.js";
import { topicPartitions } from "../../tasks/ingest/topic-partitions.js";
import { type Pacing, startReplayServer } from "../../tasks/replay-feed/replay-server.js";
import { endOffsets, recordsSince, type TopicRecord } from "../support/kafka-records.js";
import { bucketLines } from "../support/s3-lines.js";
import { hasSharedData, oddExamples, SKIPPED_WITHOUT_SHARED_DATA } from "../support/shared-data.js";
import { stackAws, stackKafka, stackS3 } from "../support/stack-clients.js";
import { startStackIngest } from "../support/stack-ingest.js";

const stack = inject("stack");
const kafka = stackKafka("feed-to-kafka-test");
const rsvpTopic = stack.resources.topics.RsvpTopicName as string;
const deadLetterTopic = stack.resources.topics.DeadLetterTopicName as string;
const parse = createRsvpParser();
const firehose = new FirehoseClient(awsClientConfig(stackAws()));
const s3 = stackS3();
const rawBucket = stack.resources.buckets.RawBucket as string;
afterAll(() => {
  firehose.destroy();
  s3.destroy();
});

/**
 * Plays `lines` through the replay server and the ingest; returns what each topic got since,
 * the ingest's ticks apart.
 */
async function playThrough(
  lines: string[],
  options: {
    holdFirstSend?: boolean;
    pacing?: Pacing;
    partitionTicks?: IngestOptions["partitionTicks"];
  } = {},
): Promise<{
  valid: TopicRecord[];
  dead: TopicRecord[];
  ticks: TopicRecord[];
  stats: IngestCounters;
}> {
  const before = await endOffsets(kafka, [rsvpTopic, deadLetterTopic]);
  const feed = await startReplayServer({
    source: () => lines,
    pacing: options.pacing ?? { kind: "asap" },
  });
  const producer = ingestProducer(kafka);
  await producer.connect();
  let ingest: Ingest | undefined;
  if (options.holdFirstSend) {
    // Kafka answers slowly at first (a broker restarting, say): the first send is held until the
    // ingest has received the whole feed, which then waits in its queue for the sends after it.
    const send = producer.sendBatch.bind(producer);
    let held = true;
    (producer as { sendBatch: typeof send }).sendBatch = async (batch) => {
      while (held && (ingest?.counters().received ?? 0) < lines.length)
        await new Promise((resolve) => setTimeout(resolve, 10));
      held = false;
      return send(batch);
    };
  }
  ingest = startStackIngest({
    feedUrl: feed.url,
    parse,
    producer,
    firehose,
    ...(options.partitionTicks ? { partitionTicks: options.partitionTicks } : {}),
  });
  await ingest.finished;
  await producer.disconnect();
  await feed.close();
  const stats = ingest.counters();

  // Everything the topics got since, which must be all the ingest says it sent and no more.
  const got = await recordsSince(kafka, before, 30_000);
  expect(got).toHaveLength(stats.produced + stats.deadLettered + stats.ticks);
  const isTick = (m: TopicRecord) => m.headers[TICK_HEADER] !== undefined;
  return {
    valid: got.filter((m) => m.topic === rsvpTopic && !isTick(m)),
    dead: got.filter((m) => m.topic === deadLetterTopic),
    ticks: got.filter(isTick),
    stats,
  };
}

describe("feed -> ingest -> Kafka and Firehose", () => {
  it("routes a synthetic feed: valid records keyed by city without personal data, bad ones dead-lettered with their reason", async () => {
    const messages = take(syntheticMessages({ seed: "feed-to-kafka", malformedShare: 0.1 }), 3000);
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
      (await bucketLines(s3, rawBucket)).map((line) => {
        const record = JSON.parse(line) as Partial<RsvpRecord>;
        return `${record.rsvpId}@${record.mtime}`;
      }),
    );
    for (const id of sentIds) expect(landed.has(id)).toBe(true);
    const PERSONAL_KEYS = new Set([
      "member",
      "member_name",
      "photo",
      "other_services",
      "member_id",
    ]);
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
      malformed.map((m) => deadLetterRaw(m.text)).sort(),
    );
    // Personal data stays out of the dead-letter topic too, whatever shape the frame had, and
    // most frames held some (the check above is no comparison of texts left as they were).
    for (const letter of letters)
      expect(letter.raw).not.toMatch(/Synthetic\d|example\.invalid\/photos/);
    const personal = malformed.filter((m) => /Synthetic\d|example\.invalid\/photos/.test(m.text));
    expect(personal.length).toBeGreaterThan(malformed.length / 2);
    for (const letter of letters) {
      expect(letter.reason).toMatch(/^(empty|not_json|not_an_object|missing_field|invalid_field)$/);
      expect(letter.detail.length).toBeGreaterThan(0);
    }
    // Keyed by their reason: a send made again puts each on the same partition (see
    // ingest-lost-answer.test.ts for what round-robin did).
    expect(dead.map((m) => m.key)).toEqual(letters.map((l) => l.reason));
  });

  it("sends every partition of the RSVP topic a tick at start and each interval, which the counting counts as nothing", async () => {
    const messages = take(syntheticMessages({ seed: "partition-ticks" }), 20);
    // 20 messages at 10 a second: the feed stays open past several intervals of 400 ms (the
    // first round waits for the first durable point).
    const { valid, ticks, stats } = await playThrough(
      messages.map((m) => m.text),
      {
        pacing: { kind: "rate", perSecond: 10 },
        partitionTicks: { everyMs: 400, partitions: () => topicPartitions(kafka, rsvpTopic) },
      },
    );
    expect(valid).toHaveLength(messages.length);
    const partitions = await topicPartitions(kafka, rsvpTopic);
    expect(partitions.length).toBeGreaterThan(1);
    // At start and at least once more, every partition alike.
    const rounds = stats.ticks / partitions.length;
    expect(Number.isInteger(rounds) && rounds >= 2).toBe(true);
    expect(ticks).toHaveLength(stats.ticks);
    for (const partition of partitions)
      expect(ticks.filter((tick) => tick.partition === partition)).toHaveLength(rounds);
    for (const tick of ticks) {
      expect(tick.topic).toBe(rsvpTopic);
      expect(tick.headers[RESUME_HEADER]).toMatch(/^\d+$/);
    }

    // As the event source hands them to the counting: ticks, not RSVPs and not dead letters.
    const handed = partitions.flatMap((partition) =>
      messagesOf(
        toMskEvent(
          rsvpTopic,
          partition,
          ticks
            .filter((tick) => tick.partition === partition)
            .map((tick, offset) => ({
              offset: String(offset),
              timestamp: "0",
              attributes: 0,
              key: null,
              value: Buffer.from(tick.value),
              headers: tick.headers,
            })),
        ),
      ),
    );
    const decoded = decodeBatch(handed);
    expect([decoded.ticks, decoded.messages, decoded.poison.length]).toEqual([stats.ticks, 0, 0]);
  });

  it("sends large frames (64 KiB RSVPs, 8 KiB dead letters) in batches the broker takes, with nothing lost", async () => {
    // The broker refuses a record batch over message.max.bytes (1,048,588 by default) for good;
    // gzip does little for text that is already dense.
    const dense = (seed: string, chars: number) => {
      let text = "";
      for (let block = 0; text.length < chars; block++)
        text += createHash("sha512").update(`${seed}/${block}`).digest("base64");
      return text.slice(0, chars);
    };
    const producer = ingestProducer(kafka);
    await producer.connect();
    try {
      await expect(
        producer.sendBatch({
          acks: -1,
          compression: CompressionTypes.GZIP,
          topicMessages: [
            {
              topic: deadLetterTopic,
              messages: [{ key: "too-large", value: dense("one", 2_000_000) }],
            },
          ],
        }),
      ).rejects.toThrow(/larger than the max message size/i);
    } finally {
      await producer.disconnect();
    }
    expect(KAFKA_BATCH_BYTES).toBeLessThan(1_048_588);

    const rsvps = take(syntheticMessages({ seed: "large-frames", malformedShare: 0 }), 150).map(
      (message, index) => {
        const fields = JSON.parse(message.text) as Record<string, Record<string, unknown>>;
        fields.event = { ...fields.event, event_name: dense(`rsvp-${index}`, 60_000) };
        // One city, so one partition: a few dozen of them, gzipped, are a record batch over the
        // broker's limit.
        fields.group = {
          ...fields.group,
          group_city: "Portland",
          group_state: "OR",
          group_country: "us",
        };
        return { ...message, text: JSON.stringify(fields) };
      },
    );
    // Not JSON: each a dead letter of the 8 KiB the ingest keeps.
    const garbage = Array.from({ length: 150 }, (_, index) => `<${dense(`bad-${index}`, 20_000)}`);
    const lines = rsvps.flatMap((rsvp, index) => [rsvp.text, garbage[index] as string]);
    const { valid, dead, stats } = await playThrough(lines, { holdFirstSend: true });
    expect(stats.retried.kafka).toBe(0);
    expect(valid.map((m) => (JSON.parse(m.value) as RsvpRecord).rsvpId).sort()).toEqual(
      rsvps.map((m) => m.rsvpId).sort(),
    );
    expect(dead).toHaveLength(garbage.length);
    expect(stats.sentToFirehose).toBe(rsvps.length);
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
