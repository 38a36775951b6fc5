/**
 * The stream bench's counting: the city-counts handler's domain code on a table filled to
 * 10^3, 10^4 and 10^5 RSVPs (at each: ms per batch, single-item writes per batch and ms per
 * write), and the handler behind the local MSK event source on the filled table (RSVPs/s
 * counted).
 */
import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  type WriteRequest,
} from "@aws-sdk/client-dynamodb";
import type { Kafka } from "kafkajs";
import {
  decodeBatch,
  partitionIdOf,
  planStateWrites,
  stateChanges,
} from "../../functions/city-counts/counting.js";
import { type CountsStore, dynamoCountsStore } from "../../functions/city-counts/counts-store.js";
import { processBatch } from "../../functions/city-counts/process-batch.js";
import type { KafkaMessage, MskEvent } from "../../functions/shared/msk-event.js";
import type { RsvpParser } from "../../functions/shared/rsvp/parse.js";
import { syntheticRecords, take } from "../../local/feed/synthetic/sample.js";
import { startMskEventSource } from "../../local/pipeline/msk-event-source.js";
import type { eventSourceControls } from "../../local/stack/template-model.js";
import { ingestProducer } from "../../tasks/ingest/renewable-producer.js";
import { fmt, type Print, percentile } from "./report.js";

export const TABLE_SIZES = [1_000, 10_000, 100_000] as const;
const COUNTED_BEHIND_EVENT_SOURCE = 4_000;

/** The city-counts handler (or one shaped like it). */
export type Handler = (event: MskEvent) => Promise<{ counted: number }>;
/** The event source's controls, as the template gives them. */
export type Controls = ReturnType<typeof eventSourceControls>;

/** Counter and state writes of fresh RSVPs, ids from `firstId` on, as the Lambda gets them. */
export function freshMessages(
  parse: RsvpParser,
  seed: string,
  firstId: number,
  count: number,
  topic = "bench",
): KafkaMessage[] {
  const feed = syntheticRecords(
    { seed, startTime: Date.now(), malformedShare: 0, updateShare: 0 },
    parse,
  );
  return take(feed, count).map((record, offset) => ({
    topic,
    partition: 0,
    offset,
    value: JSON.stringify({ ...record, rsvpId: firstId + offset }),
  }));
}

/**
 * Fills the table with state items of `count` more RSVPs: what the Lambda writes for each, its
 * pending change included (a state keeps it until its next write). No counter is written.
 */
async function fillStates(
  dynamodb: DynamoDBClient,
  tableName: string,
  messages: KafkaMessage[],
): Promise<void> {
  const nowMs = Date.now();
  const items: Record<string, AttributeValue>[] = [];
  for (let start = 0; start < messages.length; start += 1000) {
    const slice = messages.slice(start, start + 1000);
    const batch = decodeBatch(slice);
    const changes = stateChanges(batch.rsvps, new Map(), {
      nowMs,
      keepAliveSeconds: 170 * 3600,
    });
    const first = slice[0];
    if (first === undefined) continue;
    const planned = planStateWrites(
      changes,
      new Map(),
      { tp: partitionIdOf(first), lastOffsets: batch.lastOffsets, fences: new Map() },
      { tableName, nowMs, stateTtlSeconds: 14 * 86_400, keepAliveSeconds: 170 * 3600 },
    );
    for (const write of planned.writes) if (write.Put) items.push(write.Put.Item);
  }
  const requests: WriteRequest[] = items.map((Item) => ({ PutRequest: { Item } }));
  const inFlight: Promise<unknown>[] = [];
  for (let start = 0; start < requests.length; start += 25) {
    let pending: WriteRequest[] = requests.slice(start, start + 25);
    inFlight.push(
      (async () => {
        while (pending.length > 0) {
          const answer = await dynamodb.send(
            new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }),
          );
          pending = answer.UnprocessedItems?.[tableName] ?? [];
        }
      })(),
    );
    if (inFlight.length >= 4) await Promise.all(inFlight.splice(0));
  }
  await Promise.all(inFlight);
}

/** Counting on a table of one size: the median batch, its writes, and the time per write. */
export interface CountingCostAt {
  /** Median ms of processBatch for 100 fresh RSVPs: reads, planning and writes. */
  msPerBatch: number;
  /** Single-item writes per batch: states, counters and day markers. */
  writesPerBatch: number;
  /** Time in the store's write calls per write (it sends up to 25 side by side). */
  msPerWrite: number;
}

export async function countingCost(options: {
  dynamodb: DynamoDBClient;
  tableName: string;
  parse: RsvpParser;
  print: Print;
}): Promise<Map<number, CountingCostAt>> {
  const store = dynamoCountsStore(options.dynamodb, options.tableName);
  const timings: { writes: number; ms: number }[] = [];
  const timed: CountsStore = {
    ...store,
    applyWrites: async (actions, onOutcome, callOptions) => {
      const started = performance.now();
      // The outcomes too: processBatch tallies what it applied by them.
      const result = await store.applyWrites(actions, onOutcome, callOptions);
      // A batch whose days are marked calls with no marker: nothing sent, nothing timed.
      if (actions.length > 0)
        timings.push({ writes: actions.length, ms: performance.now() - started });
      return result;
    },
  };
  const results = new Map<number, CountingCostAt>();
  let inTable = 0;
  let nextId = 3_000_000_000;
  // The probes' partition: its offsets go on rising across table sizes, as Kafka's do. The
  // counters fence by offset: a probe at offsets their fences have passed would count nothing.
  let nextOffset = 0;
  // One container's day markers, kept across batches as the handler keeps them.
  const markedDays = new Set<string>();
  for (const size of TABLE_SIZES) {
    const started = performance.now();
    const fill = freshMessages(options.parse, `bench-fill-${size}`, nextId, size - inTable);
    nextId += fill.length;
    await fillStates(options.dynamodb, options.tableName, fill);
    inTable = size;
    const fillSeconds = (performance.now() - started) / 1000;
    timings.length = 0;
    const probe = freshMessages(options.parse, `bench-probe-${size}`, nextId, 500).map(
      (message) => ({ ...message, offset: nextOffset + message.offset }),
    );
    nextId += probe.length;
    nextOffset += probe.length;
    const batchMs: number[] = [];
    for (let start = 0; start < probe.length; start += 100) {
      const batchStarted = performance.now();
      await processBatch(probe.slice(start, start + 100), {
        store: timed,
        tableName: options.tableName,
        stateTtlSeconds: 14 * 86_400,
        keepAliveSeconds: 170 * 3600,
        markedDays,
      });
      batchMs.push(performance.now() - batchStarted);
    }
    inTable += probe.length;
    const ms = timings.reduce((sum, t) => sum + t.ms, 0);
    const writes = timings.reduce((sum, t) => sum + t.writes, 0);
    const result: CountingCostAt = {
      msPerBatch: percentile(
        batchMs.sort((a, b) => a - b),
        50,
      ),
      writesPerBatch: writes / batchMs.length,
      msPerWrite: ms / writes,
    };
    results.set(size, result);
    options.print(
      `table of ${fmt(size)} RSVPs (filled in ${fillSeconds.toFixed(1)} s): ${batchMs.length} batches of 100 RSVPs, median ${result.msPerBatch.toFixed(0)} ms, ${result.writesPerBatch.toFixed(0)} single-item writes per batch (states, counters, day markers) in ${timings.length} calls, ${result.msPerWrite.toFixed(2)} ms per write`,
    );
  }
  return results;
}

export async function countedBehindEventSource(options: {
  kafka: Kafka;
  topic: string;
  parse: RsvpParser;
  handler: Handler;
  controls: Controls;
}): Promise<{ perSecond: number; counted: number; seconds: number; invocations: number }> {
  const messages = freshMessages(
    options.parse,
    "bench-behind",
    4_000_000_000,
    COUNTED_BEHIND_EVENT_SOURCE,
  );
  const producer = ingestProducer(options.kafka);
  await producer.connect();
  for (let start = 0; start < messages.length; start += 500)
    await producer.sendBatch({
      acks: -1,
      topicMessages: [
        {
          topic: options.topic,
          messages: messages.slice(start, start + 500).map((message) => {
            const value = message.value as string;
            return { key: (JSON.parse(value) as { city: { key: string } }).city.key, value };
          }),
        },
      ],
    });
  await producer.disconnect();
  let counted = 0;
  const started = performance.now();
  const source = await startMskEventSource({
    kafka: options.kafka,
    topic: options.topic,
    groupId: "bench-counting",
    batchSize: options.controls.batchSize,
    batchingWindowMs: options.controls.batchingWindowMs,
    maximumRetryAttempts: options.controls.maximumRetryAttempts,
    bisectOnError: options.controls.bisectOnError,
    handler: async (event) => {
      // Read after the await: handlers of several partitions run at once.
      const result = await options.handler(event);
      counted += result.counted;
    },
  });
  try {
    while (source.stats.records < messages.length)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const seconds = (performance.now() - started) / 1000;
    return {
      perSecond: counted / seconds,
      counted,
      seconds,
      invocations: source.stats.invocations,
    };
  } finally {
    await source.stop();
  }
}
