/**
 * A zod schema of the fields of the normalized {@link RsvpRecord} that consumers of the Kafka
 * topic rely on. Records on the topic were written by our own ingest, but a consumer must still
 * survive a poison record (another producer, an old version, a corrupted value).
 */
import { z } from "zod";
import { EARLIEST_MTIME_MS, LATEST_MTIME_MS } from "./stream-message.js";

export const countableRecordSchema = z.object({
  v: z.literal(1),
  rsvpId: z.number().int().positive(),
  mtime: z.number().int().min(EARLIEST_MTIME_MS).max(LATEST_MTIME_MS),
  response: z.enum(["yes", "no"]),
  guests: z.number().int().min(0),
  city: z.object({
    key: z.string().min(1),
    country: z.string().regex(/^[a-z]{2}$/),
    state: z.string().nullable(),
    name: z.string().min(1),
  }),
});

export type CountableRecord = z.infer<typeof countableRecordSchema>;
