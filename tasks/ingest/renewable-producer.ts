/**
 * The ingest's Kafka producer, replaced by a new one (a new producer id) when the broker refuses
 * its id or sequence for good. kafkajs's idempotent producer never recovers from those errors by
 * itself: every later send fails the same way, and the ingest would stall on Kafka until the
 * task is replaced. They come when the broker's state of the producer and the producer's own
 * part ways: the broker forgot the producer's id (it expires producer state after a while
 * without a write from it; by Kafka version the next send is then refused as
 * UNKNOWN_PRODUCER_ID or OUT_OF_ORDER_SEQUENCE_NUMBER), or a send the broker appended was made
 * again unlike itself (the ingest sends a failed batch again as it was, see buffered-sender.ts,
 * so that one should not happen).
 *
 * The failed send still fails: its sender sends the same records again, with the new producer.
 * Those the broker had appended under the old id are then on the topic twice, which the
 * counting takes once (an exact duplicate of an RSVP's version changes nothing).
 */
import {
  type Kafka,
  type Message,
  Partitioners,
  type Producer,
  type ProducerConfig,
} from "kafkajs";
import { TICK_HEADER } from "../../functions/shared/partition-tick.js";
import { type Placements, placingPartitioner, sendCompletely } from "./complete-send.js";

/** A tick record of the ingest (partition-tick.ts): its headers name it. */
const isTickMessage = (message: Message) =>
  message.headers !== undefined && Object.hasOwn(message.headers, TICK_HEADER);

/**
 * The ingest's producer settings: idempotence (kafkajs sends with acks -1; a request sent again,
 * by kafkajs's retries or by the ingest's, is appended once), in order per partition (one request
 * in flight), a city always on the same partition (Java-compatible murmur2 of the key; the
 * ingest's producer places with the same partitioner, remembering where, complete-send.ts). A send
 * that failed on one broker after another had appended its part, sent again whole, is appended
 * twice on the partitions of the broker that had answered (the counting takes them once).
 */
export const INGEST_PRODUCER_CONFIG = {
  idempotent: true,
  maxInFlightRequests: 1,
  createPartitioner: Partitioners.DefaultPartitioner,
} satisfies ProducerConfig;

/** Kafka's errors that end an idempotent producer's session (retriable: false in kafkajs). */
const SESSION_ENDING_ERRORS = new Set([
  "OUT_OF_ORDER_SEQUENCE_NUMBER",
  "UNKNOWN_PRODUCER_ID",
  "INVALID_PRODUCER_EPOCH",
  "INVALID_PRODUCER_ID_MAPPING",
]);

/** The Kafka error type of `error` or of an error it wraps (kafkajs wraps in its retrier's). */
export function kafkaErrorType(error: unknown): string | undefined {
  for (let inner = error, depth = 0; inner && depth < 5; depth++) {
    const { type, cause } = inner as { type?: unknown; cause?: unknown };
    if (typeof type === "string") return type;
    inner = cause;
  }
  return undefined;
}

export type IngestProducer = Pick<Producer, "connect" | "disconnect" | "sendBatch">;

export function renewableProducer(
  create: () => Producer,
  onRenewed?: (why: string) => void,
): IngestProducer & { readonly renewals: number } {
  let current = create();
  let renewals = 0;
  /** A new producer whose connect failed (Kafka down): connected before its first send. */
  let unconnected = false;
  /** A renewal under way: sends and disconnect wait for it. */
  let renewing: Promise<void> | undefined;
  let closed = false;

  /** Replaces `ended` (if it still is the current producer: once per ended session). */
  const renew = async (ended: Producer, why: string) => {
    if (current !== ended || closed) return;
    current = create();
    renewals += 1;
    unconnected = true;
    const next = current;
    await ended.disconnect().catch(() => {});
    if (!closed)
      await next.connect().then(
        () => {
          if (current === next) unconnected = false;
        },
        () => {},
      );
    onRenewed?.(why);
  };

  return {
    get renewals() {
      return renewals;
    },
    connect: () => current.connect(),
    async disconnect() {
      closed = true;
      await renewing;
      await current.disconnect();
    },
    async sendBatch(batch) {
      await renewing;
      if (unconnected) {
        await current.connect();
        unconnected = false;
      }
      const used = current;
      try {
        return await used.sendBatch(batch);
      } catch (error) {
        const type = kafkaErrorType(error);
        if (type && SESSION_ENDING_ERRORS.has(type) && !renewing) {
          renewing = renew(used, type).finally(() => {
            renewing = undefined;
          });
          await renewing;
        } else await renewing;
        throw error;
      }
    },
  };
}

/**
 * The ingest task's producer: its settings, renewed when the broker ends its session (a
 * warning to `logger` then, and `onRenewed` called), and each send complete: partitions that
 * kafkajs left unwritten are sent again (complete-send.ts; a warning to `logger` then).
 */
export function ingestProducer(
  kafka: Kafka,
  options: {
    logger?: { warn: (message: string, attributes: Record<string, unknown>) => void };
    onRenewed?: (why: string) => void;
    retry?: ProducerConfig["retry"];
  } = {},
): IngestProducer & { readonly renewals: number } {
  const placements: Placements = new WeakMap();
  const renewable = renewableProducer(
    () =>
      kafka.producer({
        ...INGEST_PRODUCER_CONFIG,
        createPartitioner: placingPartitioner(placements),
        ...(options.retry ? { retry: options.retry } : {}),
      }),
    (why) => {
      options.logger?.warn("the broker ended the producer's session; sending with a new producer", {
        why,
      });
      options.onRenewed?.(why);
    },
  );
  return {
    get renewals() {
      return renewable.renewals;
    },
    connect: () => renewable.connect(),
    disconnect: () => renewable.disconnect(),
    sendBatch: (batch) =>
      sendCompletely((part) => renewable.sendBatch(part), batch, placements, {
        // A tick lost is sent again at the next round; one to a partition this producer does
        // not know yet must not make its batch's records go again and again.
        bestEffort: isTickMessage,
        onPartial: (partial) =>
          options.logger?.warn(
            "Kafka took a send but left partitions unwritten; sending those again",
            {
              ...partial,
            },
          ),
      }),
  };
}
