/**
 * The local stand-in for Lambda's Amazon MSK event source mapping: consumes a topic and invokes
 * a handler with events of exactly the shape Lambda sends (events/msk-city-counts.json), with
 * Lambda's delivery rules: at most `batchSize` records per event, a batching window, a failed
 * batch retried (the partition waits), offsets committed only after the batch is done. With
 * the error controls of provisioned mode (what template.yaml sets): at most
 * `maximumRetryAttempts` retries, the batch halved on each error (`bisectOnError`), and what
 * still fails handed to `onFailure` (the on-failure destination), after which the partition
 * moves on. Without them, a failing batch is retried until it succeeds, as Lambda does.
 *
 * Simplification: one event holds the records of one partition (what one kafkajs fetch brings);
 * Lambda may mix partitions in one event. Handlers must not care, and ours do not.
 */
import type { Consumer, EachBatchPayload, Kafka } from "kafkajs";
import { type Backoff, backoffPause } from "../../functions/shared/backoff.js";
import type { MskEvent, MskRecord } from "../../functions/shared/msk-event.js";

/** The part of Lambda's invocation context a handler here gets: its time left. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

export interface MskEventSourceOptions {
  kafka: Kafka;
  topic: string;
  groupId: string;
  /** Gets a context when `functionTimeoutMs` is set, its time left counted from the invocation. */
  handler: (event: MskEvent, context?: InvocationContext) => Promise<unknown>;
  /**
   * The function's timeout, for the handler's context. Not enforced: Lambda would end the
   * invocation; here it runs on (the handler's own deadline is what this lets it keep).
   */
  functionTimeoutMs?: number;
  /** Partitions invoked at once (default 16; each partition stays in order). */
  concurrentPartitions?: number;
  /** Lambda's BatchSize (default 100). */
  batchSize?: number;
  /** Lambda's MaximumBatchingWindowInSeconds, in ms (default 500). */
  batchingWindowMs?: number;
  /** Told about every failed invocation; the batch is then retried. */
  onError?: (error: Error, attempt: number) => void;
  /** Lambda's MaximumRetryAttempts (default: retry until it succeeds). */
  maximumRetryAttempts?: number;
  /** Lambda's BisectBatchOnFunctionError: a failed batch is split in two and each half retried. */
  bisectOnError?: boolean;
  /** The on-failure destination: receives a batch whose retries are spent; then it moves on. */
  onFailure?: (event: MskEvent, error: Error) => Promise<void>;
}

export interface MskEventSourceStats {
  invocations: number;
  failedInvocations: number;
  records: number;
  /** Records whose retries were spent (handed to the on-failure destination, if any). */
  failedRecords: number;
  /** Producer timestamp (epoch ms) of the newest record of the batches done so far; 0: none. */
  newestDoneTimestamp: number;
}

/**
 * How far behind the topic the event source is, in ms: 0 when it has done every record
 * produced, else the age of the newest record it has done (the next one waits at most that).
 */
export function lagMs(
  stats: Pick<MskEventSourceStats, "records" | "newestDoneTimestamp">,
  produced: number,
  now: number,
  startedAt: number,
): number {
  if (stats.records >= produced) return 0;
  return Math.max(0, now - (stats.newestDoneTimestamp || startedAt));
}

export interface MskEventSource {
  stats: MskEventSourceStats;
  stop(): Promise<void>;
}

/** Before a failed batch's next attempt: full jitter below 100 ms x 2^attempt, 5 s at most. */
const RETRY_BACKOFF: Backoff = { baseMs: 100, capMs: 5000 };

const EVENT_SOURCE_ARN =
  "arn:aws:kafka:us-east-1:123456789012:cluster/rsvp-atlas-local/00000000-0000-0000-0000-000000000000-1";

export async function startMskEventSource(options: MskEventSourceOptions): Promise<MskEventSource> {
  const batchSize = options.batchSize ?? 100;
  const consumer: Consumer = options.kafka.consumer({
    groupId: options.groupId,
    allowAutoTopicCreation: false,
    // Like Lambda's batching window: the broker holds a fetch until it has a full batch's worth
    // of bytes or the window has passed, instead of answering at the first record.
    maxWaitTimeInMs: options.batchingWindowMs ?? 500,
    minBytes: 256 * 1024,
  });
  const stats: MskEventSourceStats = {
    invocations: 0,
    failedInvocations: 0,
    records: 0,
    failedRecords: 0,
    newestDoneTimestamp: 0,
  };
  const maximumRetryAttempts = options.maximumRetryAttempts ?? Number.POSITIVE_INFINITY;
  let stopping = false;
  await consumer.connect();
  await consumer.subscribe({ topic: options.topic, fromBeginning: true });
  await consumer.run({
    // Partitions are invoked side by side, as Lambda's pollers do (each partition in order).
    // moto_server.py serves DynamoDB requests one at a time, so this is safe locally too.
    partitionsConsumedConcurrently: options.concurrentPartitions ?? 16,
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({
      batch,
      resolveOffset,
      heartbeat,
      isRunning,
      isStale,
    }: EachBatchPayload) => {
      for (let start = 0; start < batch.messages.length; start += batchSize) {
        const chunk = batch.messages.slice(start, start + batchSize);
        /** Invokes with `records`; "done" when handled or handed to the destination. */
        const deliver = async (records: KafkaJsMessage[]): Promise<"done" | "stopped"> => {
          const event = toMskEvent(batch.topic, batch.partition, records);
          for (let attempt = 1; ; attempt++) {
            if (!isRunning() || isStale() || stopping) return "stopped";
            try {
              stats.invocations += 1;
              const { functionTimeoutMs } = options;
              const endsAt = Date.now() + (functionTimeoutMs ?? 0);
              await options.handler(
                event,
                functionTimeoutMs === undefined
                  ? undefined
                  : { getRemainingTimeInMillis: () => Math.max(0, endsAt - Date.now()) },
              );
              return "done";
            } catch (error) {
              stats.failedInvocations += 1;
              options.onError?.(error as Error, attempt);
              await heartbeat();
              // Splitting does not count toward the retry quota (as Lambda documents for its
              // stream sources): each half starts its own attempts, a lone record its retries.
              if (options.bisectOnError && records.length > 1) {
                const half = Math.ceil(records.length / 2);
                for (const part of [records.slice(0, half), records.slice(half)]) {
                  if ((await deliver(part)) === "stopped") return "stopped";
                }
                return "done";
              }
              if (attempt > maximumRetryAttempts) {
                // Retries spent: to the destination, or (as Lambda does without one) dropped.
                await options.onFailure?.(event, error as Error);
                stats.failedRecords += records.length;
                return "done";
              }
              await backoffPause(attempt, RETRY_BACKOFF);
            }
          }
        };
        if ((await deliver(chunk)) === "stopped") return;
        stats.records += chunk.length;
        for (const message of chunk)
          stats.newestDoneTimestamp = Math.max(
            stats.newestDoneTimestamp,
            Number(message.timestamp),
          );
        const last = chunk[chunk.length - 1];
        if (last) {
          resolveOffset(last.offset);
          // Committed only now that the batch is done (handled, or handed to the on-failure
          // destination): a crash before this redelivers.
          await consumer.commitOffsets([
            {
              topic: batch.topic,
              partition: batch.partition,
              offset: String(BigInt(last.offset) + 1n),
            },
          ]);
        }
        await heartbeat();
      }
    },
  });
  return {
    stats,
    async stop() {
      stopping = true;
      await consumer.disconnect();
    },
  };
}

type KafkaJsMessage = EachBatchPayload["batch"]["messages"][number];

/** Lambda's MSK event for records of one partition: base64 key and value, numeric offsets. */
export function toMskEvent(topic: string, partition: number, messages: KafkaJsMessage[]): MskEvent {
  const records: MskRecord[] = messages.map((message) => ({
    topic,
    partition,
    offset: Number(message.offset),
    timestamp: Number(message.timestamp),
    timestampType: "CREATE_TIME",
    key: message.key ? message.key.toString("base64") : null,
    value: message.value ? message.value.toString("base64") : null,
    headers: Object.entries(message.headers ?? {}).map(([name, value]) => ({
      [name]: [...Buffer.from(Array.isArray(value) ? (value[0] ?? "") : (value ?? ""))],
    })),
  }));
  return {
    eventSource: "aws:kafka",
    eventSourceArn: EVENT_SOURCE_ARN,
    bootstrapServers: "127.0.0.1",
    records: { [`${topic}-${partition}`]: records },
  };
}
