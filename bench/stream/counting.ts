/**
 * The stream bench's counting: the city-counts handler's domain code on a table filled to
 * 10^3, 10^4 and 10^5 RSVPs (ms per transaction at each), and the handler behind the local MSK
 * event source on the filled table (RSVPs/s counted).
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
  planTransactions,
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

/** Fills the table with state items of `count` more RSVPs (what the Lambda writes for each). */
async function fillStates(
  dynamodb: DynamoDBClient,
  tableName: string,
  messages: KafkaMessage[],
): Promise<void> {
  const nowMs = Date.now();
  const items: Record<string, AttributeValue>[] = [];
  for (let start = 0; start < messages.length; start += 1000) {
    const batch = decodeBatch(messages.slice(start, start + 1000));
    const changes = stateChanges(batch.rsvps, new Map(), {
      nowMs,
      keepAliveSeconds: 170 * 3600,
    });
    // State items only (day markers repeat across plans; counters are what counting adds).
    for (const planned of planTransactions(changes, {
      tableName,
      nowMs,
      stateTtlSeconds: 14 * 86_400,
      keepAliveSeconds: 170 * 3600,
    }))
      for (const action of planned.actions)
        if (action.Put?.Item?.pk?.S?.startsWith("RSVP#")) items.push(action.Put.Item);
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

export async function countingCost(options: {
  dynamodb: DynamoDBClient;
  tableName: string;
  parse: RsvpParser;
  print: Print;
}): Promise<Map<number, { msPerTransaction: number; msPerAction: number }>> {
  const store = dynamoCountsStore(options.dynamodb, options.tableName);
  const timings: { actions: number; ms: number }[] = [];
  const timed: CountsStore = {
    ...store,
    applyTransaction: async (actions) => {
      const started = performance.now();
      const result = await store.applyTransaction(actions);
      timings.push({ actions: actions.length, ms: performance.now() - started });
      return result;
    },
  };
  const results = new Map<number, { msPerTransaction: number; msPerAction: number }>();
  let inTable = 0;
  let nextId = 3_000_000_000;
  for (const size of TABLE_SIZES) {
    const started = performance.now();
    const fill = freshMessages(options.parse, `bench-fill-${size}`, nextId, size - inTable);
    nextId += fill.length;
    await fillStates(options.dynamodb, options.tableName, fill);
    inTable = size;
    const fillSeconds = (performance.now() - started) / 1000;
    timings.length = 0;
    const probe = freshMessages(options.parse, `bench-probe-${size}`, nextId, 500);
    nextId += probe.length;
    for (let start = 0; start < probe.length; start += 100)
      await processBatch(probe.slice(start, start + 100), {
        store: timed,
        tableName: options.tableName,
        stateTtlSeconds: 14 * 86_400,
        keepAliveSeconds: 170 * 3600,
      });
    inTable += probe.length;
    const ms = timings.reduce((sum, t) => sum + t.ms, 0);
    const actions = timings.reduce((sum, t) => sum + t.actions, 0);
    const perTransaction = timings.map((t) => t.ms).sort((a, b) => a - b);
    const result = {
      msPerTransaction: percentile(perTransaction, 50),
      msPerAction: ms / actions,
    };
    results.set(size, result);
    options.print(
      `table of ${fmt(size)} RSVPs (filled in ${fillSeconds.toFixed(1)} s): ${timings.length} transactions of ${Math.round(actions / timings.length)} actions on average, median ${result.msPerTransaction.toFixed(0)} ms, ${result.msPerAction.toFixed(2)} ms per action`,
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
