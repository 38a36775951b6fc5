/**
 * The event Lambda's Amazon MSK event source delivers: records grouped by "<topic>-<partition>",
 * keys and values base64-encoded. Validated at the handler boundary so a malformed event fails
 * loudly instead of being counted as empty.
 */
import { z } from "zod";
import { isTick } from "./partition-tick.js";

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, "not base64");

export const mskRecordSchema = z.object({
  topic: z.string().min(1),
  partition: z.number().int().min(0),
  offset: z.number().int().min(0),
  timestamp: z.number().int(),
  timestampType: z.string(),
  key: base64.nullish(),
  value: base64.nullish(),
  // Lambda gives each header's value as an array of byte values. The counting reads only their
  // names (a tick's, partition-tick.ts), so a shape it gives another producer's header must not
  // fail the batch: a null value is kept as null, anything else stands for no headers (a tick
  // then reads as a record that is not an RSVP: a dead letter, not a silent skip).
  headers: z
    .array(z.record(z.string(), z.array(z.number().int()).nullable()))
    .optional()
    .catch(undefined),
});

/**
 * Not Powertools Parser's KafkaMskEventSchema: it refuses a null key or value (which the local
 * event source, local/pipeline, sends for a keyless record or a tombstone), so one such record
 * would fail the whole batch instead of being dead-lettered.
 */
export const mskEventSchema = z.object({
  eventSource: z.literal("aws:kafka"),
  eventSourceArn: z.string().optional(),
  bootstrapServers: z.string().optional(),
  records: z.record(z.string(), z.array(mskRecordSchema)),
});

export type MskRecord = z.infer<typeof mskRecordSchema>;
export type MskEvent = z.infer<typeof mskEventSchema>;

/** A record's value as text, with where it came from (for dead letters and logs). */
export interface KafkaMessage {
  topic: string;
  partition: number;
  offset: number;
  /** UTF-8 text of the value; null for a tombstone (no value). */
  value: string | null;
  /** The MSK cluster's ARN, when the event names it (a replaced cluster has a new one). */
  eventSourceArn?: string;
  /** A tick record of the ingest (partition-tick.ts): it counts nothing. */
  tick?: true;
}

/** The records of every topic-partition, each partition in offset order. */
export function messagesOf(event: MskEvent): KafkaMessage[] {
  return Object.values(event.records).flatMap((records) =>
    [...records]
      .sort((a, b) => a.offset - b.offset)
      .map((record) => {
        const value =
          record.value == null ? null : Buffer.from(record.value, "base64").toString("utf8");
        const headerNames = (record.headers ?? []).flatMap((header) => Object.keys(header));
        return {
          topic: record.topic,
          partition: record.partition,
          offset: record.offset,
          value,
          ...(event.eventSourceArn === undefined ? {} : { eventSourceArn: event.eventSourceArn }),
          ...(isTick(headerNames, value) ? { tick: true as const } : {}),
        };
      }),
  );
}
