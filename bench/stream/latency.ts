/**
 * The stream bench's end to end: a steady rate from the replay server through the ingest,
 * Kafka, the event source (the template's batch size and window) and the handler; latency from
 * a message leaving the feed to the end of the batch that counts it, its counters written (from
 * then on the counts API reads it; the API's totals are said at the end).
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { FirehoseClient } from "@aws-sdk/client-firehose";
import type { Kafka } from "kafkajs";
import { queryTopCities } from "../../functions/counts-api/top-cities.js";
import type { RsvpParser } from "../../functions/shared/rsvp/parse.js";
import { syntheticLines } from "../../local/feed/synthetic/generator.js";
import { take } from "../../local/feed/synthetic/sample.js";
import { startMskEventSource } from "../../local/pipeline/msk-event-source.js";
import { type AwsEndpoint, awsClientConfig } from "../../local/stack/aws-endpoint.js";
import { ingestProducer } from "../../tasks/ingest/renewable-producer.js";
import { startReplayServer } from "../../tasks/replay-feed/replay-server.js";
import type { Controls, Handler } from "./counting.js";
import { startBenchIngest } from "./ingest.js";
import { type Print, percentile } from "./report.js";

const LATENCY_SECONDS = 60;
/** The first day the latency feeds' RSVPs count on (one day per run), apart from the rest. */
const LATENCY_DAY_START = Date.UTC(2026, 0, 1);

export async function endToEndLatency(options: {
  kafka: Kafka;
  aws: AwsEndpoint;
  dynamodb: DynamoDBClient;
  tableName: string;
  parse: RsvpParser;
  /** RSVPs per second, for LATENCY_SECONDS. */
  rate: number;
  /** 0, 1, ...: each run has its own day and its own RSVP ids. */
  run: number;
  topic: string;
  deadLetterTopic: string;
  deliveryStreamName: string;
  handler: Handler;
  controls: Controls;
  print: Print;
}): Promise<{ p50: number; p99: number; invocationsPerMinute: number }> {
  const dayStart = LATENCY_DAY_START + options.run * 86_400_000;
  const lines = take(
    syntheticLines({
      seed: "bench-latency",
      startTime: dayStart,
      meanIntervalMs: 1000 / options.rate,
      malformedShare: 0,
    }),
    options.rate * LATENCY_SECONDS,
  ).map((line) => {
    // Ids of this run only: the generator's ids start in the same range for every seed.
    const message = JSON.parse(line) as { rsvp_id: number };
    return JSON.stringify({
      ...message,
      rsvp_id: 5_000_000_000 + options.run * 10_000_000 + (message.rsvp_id % 10_000_000),
    });
  });
  const identity = (rsvpId: number, mtime: number) => `${rsvpId}:${mtime}`;
  const expected = new Set<string>();
  const usRsvps = new Set<number>();
  for (const line of lines) {
    const result = options.parse(line);
    if (!result.ok) throw new Error(`the latency feed has an invalid line: ${line.slice(0, 200)}`);
    expected.add(identity(result.record.rsvpId, result.record.mtime));
    if (result.record.city.country === "us") usRsvps.add(result.record.rsvpId);
  }
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const stages = { ingest: [] as number[], waiting: [] as number[], handler: [] as number[] };
  const feed = await startReplayServer({
    source: () => lines,
    pacing: { kind: "rate", perSecond: options.rate },
    // Called for each line as it leaves, after pacing: the send time.
    startPass: () => (line) => {
      const message = JSON.parse(line) as { rsvp_id: number; mtime: number };
      sentAt.set(identity(message.rsvp_id, message.mtime), Date.now());
      return line;
    },
  });
  const producer = ingestProducer(options.kafka);
  await producer.connect();
  const firehose = new FirehoseClient(awsClientConfig(options.aws));
  const source = await startMskEventSource({
    kafka: options.kafka,
    topic: options.topic,
    groupId: "bench-latency",
    batchSize: options.controls.batchSize,
    batchingWindowMs: options.controls.batchingWindowMs,
    maximumRetryAttempts: options.controls.maximumRetryAttempts,
    bisectOnError: options.controls.bisectOnError,
    handler: async (event) => {
      const invoked = Date.now();
      await options.handler(event);
      const committed = Date.now();
      for (const records of Object.values(event.records))
        for (const record of records) {
          const value = JSON.parse(Buffer.from(record.value ?? "", "base64").toString("utf8")) as {
            rsvpId: number;
            mtime: number;
          };
          const sent = sentAt.get(identity(value.rsvpId, value.mtime));
          if (sent === undefined) continue;
          latencies.push(committed - sent);
          // Where the time went: the ingest (to the producer's record timestamp), the wait for
          // an invocation (batching window, queue), the invocation itself.
          stages.ingest.push(record.timestamp - sent);
          stages.waiting.push(invoked - record.timestamp);
          stages.handler.push(committed - invoked);
        }
    },
  });
  const invocationsBefore = source.stats.invocations;
  options.print(
    `end to end: ${lines.length.toLocaleString("en-US")} RSVPs at ${options.rate}/s through the ingest, Kafka, the event source (batch ${options.controls.batchSize}, window ${options.controls.batchingWindowMs} ms) and the handler...`,
  );
  const started = performance.now();
  const ingest = startBenchIngest(feed.url, producer, firehose, options);
  try {
    await ingest.finished;
    const feedSeconds = (performance.now() - started) / 1000;
    const deadline = performance.now() + 300_000;
    while (latencies.length < expected.size && performance.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    const invocations = source.stats.invocations - invocationsBefore;
    const sorted = latencies.sort((a, b) => a - b);
    const p50 = percentile(sorted, 50);
    const p99 = percentile(sorted, 99);
    const day = new Date(dayStart).toISOString().slice(0, 10);
    const api = await queryTopCities(options.dynamodb, options.tableName, {
      country: "us",
      day,
      limit: 100,
    });
    options.print(
      `end to end: fed in ${feedSeconds.toFixed(1)} s; ${latencies.length.toLocaleString("en-US")} of ${expected.size.toLocaleString("en-US")} counted; send -> commit p50 ${p50.toFixed(0)} ms, p90 ${percentile(sorted, 90).toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, max ${(sorted.at(-1) ?? 0).toFixed(0)} ms; ${invocations} invocations`,
    );
    options.print(
      `end to end, by stage (p50 / p99 ms): ${Object.entries(stages)
        .map(([stage, values]) => {
          const ordered = values.sort((a, b) => a - b);
          return `${stage} ${percentile(ordered, 50).toFixed(0)} / ${percentile(ordered, 99).toFixed(0)}`;
        })
        .join(", ")}`,
    );
    const apiTotal = await usTotal(options.dynamodb, options.tableName, day, api.totalCities);
    options.print(
      `end to end: the counts API shows ${apiTotal.toLocaleString("en-US")} US RSVPs on ${day} in ${api.totalCities} cities; the feed sent ${usRsvps.size.toLocaleString("en-US")}`,
    );
    if (latencies.length < expected.size)
      throw new Error(
        `only ${latencies.length} of ${expected.size} messages were counted within 300 s`,
      );
    return { p50, p99, invocationsPerMinute: invocations / (feedSeconds / 60) };
  } finally {
    await ingest.stop().catch(() => {});
    await source.stop();
    await producer.disconnect();
    firehose.destroy();
    await feed.close();
  }
}

/** All US RSVPs of `day` through the counts API's query (every city, not the top 100). */
async function usTotal(
  dynamodb: DynamoDBClient,
  tableName: string,
  day: string,
  cities: number,
): Promise<number> {
  const all = await queryTopCities(dynamodb, tableName, {
    country: "us",
    day,
    limit: Math.max(1, cities),
  });
  return all.cities.reduce((sum, city) => sum + city.rsvps, 0);
}
