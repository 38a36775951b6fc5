/**
 * A zod schema of the fields of the normalized {@link RsvpRecord} that consumers of the Kafka
 * topic rely on. Records on the topic were written by our own ingest, but a consumer must still
 * survive a poison record (another producer, an old version, a corrupted value).
 */
import { z } from "zod";
import { EARLIEST_MTIME_MS, LATEST_MTIME_MS, MAX_GUESTS } from "./stream-message.js";
import { cleanText, MAX_DISPLAY_NAME_BYTES, MAX_KEY_PART_BYTES } from "./text.js";

/** `country/state/city`, each part within the ingest's caps (parse.ts): 2 + 2 separators + 2 parts. */
export const MAX_CITY_KEY_BYTES = 2 + 2 + 2 * MAX_KEY_PART_BYTES;

const withinBytes = (max: number) => (text: string) => Buffer.byteLength(text, "utf8") <= max;
/**
 * DynamoDB stores strings as UTF-8, which a lone surrogate (`"\ud800"` in JSON) has none of:
 * the ingest removes them (text.ts), a record from elsewhere with one is a dead letter here
 * rather than a write DynamoDB may refuse or alter into another key.
 */
const wellFormed = (text: string) => text.isWellFormed();
const WELL_FORMED = "not well-formed Unicode (a lone surrogate)";
/**
 * Text as the ingest writes it (cleanText): no control characters, which would reach a
 * terminal that shows the counts (`npm start`) as escape sequences, no invisible format or
 * replacement characters, no spaces but single ASCII ones between words. Its Unicode form is
 * not checked: ingests before the NFC fix of case changes wrote a few names in another form,
 * and those records still count. Checked after WELL_FORMED, which names a lone surrogate.
 */
const asIngestWrites = (text: string) =>
  !text.isWellFormed() || cleanText(text) === text.normalize("NFC");
const NOT_CLEAN =
  "not as the ingest cleans text: control, invisible or replacement characters, or spaces other than single ones between words";

export const countableRecordSchema = z.object({
  v: z.literal(1),
  rsvpId: z.number().int().positive(),
  mtime: z.number().int().min(EARLIEST_MTIME_MS).max(LATEST_MTIME_MS),
  response: z.enum(["yes", "no"]),
  guests: z.number().int().min(0).max(MAX_GUESTS),
  /** The ingest's arrival stamp (tasks/ingest/arrival-clock.ts); absent (or null) from others. */
  arrival: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).nullish(),
  // Bounded, as the ingest caps them: a record from elsewhere with longer ones is a dead
  // letter, not an item over DynamoDB's key limits or a counter that costs more per write.
  /** When the event starts (epoch ms), or null: an RSVP's state is kept past it (counting.ts). */
  event: z.object({ time: z.number().int().nullable() }).optional(),
  city: z.object({
    key: z
      .string()
      .min(1)
      .refine(withinBytes(MAX_CITY_KEY_BYTES), `longer than ${MAX_CITY_KEY_BYTES} bytes`)
      .refine(wellFormed, WELL_FORMED)
      .refine(asIngestWrites, NOT_CLEAN),
    country: z.string().regex(/^[a-z]{2}$/),
    state: z
      .string()
      .refine(withinBytes(MAX_DISPLAY_NAME_BYTES), `longer than ${MAX_DISPLAY_NAME_BYTES} bytes`)
      .refine(wellFormed, WELL_FORMED)
      .refine(asIngestWrites, NOT_CLEAN)
      .nullable(),
    name: z
      .string()
      .min(1)
      .refine(withinBytes(MAX_DISPLAY_NAME_BYTES), `longer than ${MAX_DISPLAY_NAME_BYTES} bytes`)
      .refine(wellFormed, WELL_FORMED)
      .refine(asIngestWrites, NOT_CLEAN),
  }),
});

export type CountableRecord = z.infer<typeof countableRecordSchema>;
