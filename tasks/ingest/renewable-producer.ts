/**
 * The ingest's Kafka producer, replaced by a new one (a new producer id) when the broker refuses
 * its id or sequence for good. kafkajs's idempotent producer never recovers from those errors by
 * itself: every later send fails the same way, and the ingest would stall on Kafka until the
 * task is replaced. They come when the broker's state of the producer and the producer's own
 * part ways: the producer's id expired on the broker (`producer.id.expiration.ms`, a day without
 * a write from it), or a send the broker appended was made again unlike itself (the ingest
 * sends a failed batch again as it was, see buffered-sender.ts, so that one should not happen).
 *
 * The failed send still fails: its sender sends the same records again, with the new producer.
 * Those the broker had appended under the old id are then on the topic twice, which the
 * counting takes once (an exact duplicate of an RSVP's version changes nothing).
 */
import type { Producer } from "kafkajs";

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
  return {
    get renewals() {
      return renewals;
    },
    connect: () => current.connect(),
    disconnect: () => current.disconnect(),
    async sendBatch(batch) {
      if (unconnected) {
        await current.connect();
        unconnected = false;
      }
      try {
        return await current.sendBatch(batch);
      } catch (error) {
        const type = kafkaErrorType(error);
        if (type && SESSION_ENDING_ERRORS.has(type)) {
          const ended = current;
          current = create();
          renewals += 1;
          await ended.disconnect().catch(() => {});
          unconnected = true;
          await current.connect().then(
            () => {
              unconnected = false;
            },
            () => {},
          );
          onRenewed?.(type);
        }
        throw error;
      }
    },
  };
}
