/**
 * The boundary between the untrusted feed and the pipeline: one raw WebSocket frame in, either a
 * normalized {@link RsvpRecord} or a {@link Rejection} with a reason code out. It never throws,
 * whatever the input, so one bad frame can never stop the ingest.
 */
import type { z } from "zod";
import type {
  City,
  ParseResult,
  Position,
  Rejection,
  RejectionReason,
  RsvpRecord,
  Topic,
} from "./record.js";
import { type StreamMessage, streamMessageSchema } from "./stream-message.js";
import { capDisplayText, capKeyPart, cleanOptionalText, cleanText, foldForKey } from "./text.js";

/** The real feed's largest messages are a few KiB (long topic lists); anything far larger is not an RSVP. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
const MAX_DETAIL_LENGTH = 300;

export type RsvpParser = (raw: string | Uint8Array) => ParseResult;

/** Builds the parser. */
export function createRsvpParser(): RsvpParser {
  // Fatal: bytes that are not UTF-8 are no JSON text (RFC 8259, 8.1). Read leniently, they
  // became U+FFFD, which the text cleaning drops: a Latin-1 "München" was counted as "Mnchen",
  // under a city key of its own, without a word.
  const decoder = new TextDecoder("utf-8", { fatal: true });

  return (raw) => {
    try {
      const size = typeof raw === "string" ? Buffer.byteLength(raw, "utf8") : raw.byteLength;
      if (size > MAX_MESSAGE_BYTES) {
        return reject("too_large", `${size} bytes; the limit is ${MAX_MESSAGE_BYTES}`);
      }
      let text: string;
      try {
        text = typeof raw === "string" ? raw : decoder.decode(raw);
      } catch {
        return reject("not_json", "not valid UTF-8 text");
      }
      if (text.trim() === "") return reject("empty", "the message holds no text");

      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (error) {
        return reject("not_json", jsonErrorDetail(error as Error));
      }
      if (json === null || typeof json !== "object" || Array.isArray(json)) {
        return reject("not_an_object", `a JSON ${Array.isArray(json) ? "array" : typeof json}`);
      }

      const parsed = streamMessageSchema.safeParse(json);
      if (!parsed.success) return rejectSchemaIssue(json, parsed.error.issues);
      return toRecord(parsed.data);
    } catch (error) {
      return reject("internal_error", String(error));
    }
  };
}

/**
 * V8's JSON errors quote a piece of the input, which may hold personal data: keep only the
 * kind of error and its position ("Unterminated string at position 716").
 */
function jsonErrorDetail(error: Error): string {
  const position = /position (\d+)/.exec(error.message)?.[1];
  const beforeQuote = error.message.split('"')[0] ?? "";
  const kind = beforeQuote.replace(/ in JSON.*$/, "").replace(/[\s,]+$/, "") || "invalid JSON";
  return position === undefined ? kind : `${kind} at position ${position}`;
}

function reject(reason: RejectionReason, detail: string): ParseResult {
  const rejection: Rejection = { reason, detail: cleanText(detail).slice(0, MAX_DETAIL_LENGTH) };
  return { ok: false, rejection };
}

/** The first problem, on one line: a rejection's detail is stored with the dead letter. */
function rejectSchemaIssue(input: object, issues: z.core.$ZodIssue[]): ParseResult {
  const issue = issues[0];
  if (!issue) return reject("invalid_field", "schema validation failed");
  const path = issue.path.map(String).join(".") || "(message)";
  const missing = issue.code === "invalid_type" && valueAt(input, issue.path) === undefined;
  return reject(
    missing ? "missing_field" : "invalid_field",
    `${path}: ${missing ? "missing" : issue.message}`,
  );
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function toRecord(message: StreamMessage): ParseResult {
  const city = toCity(message.group);
  if ("reason" in city) return { ok: false, rejection: city };
  const eventId = cleanText(message.event.event_id);
  if (eventId === "") return reject("missing_field", "event.event_id: empty");

  const record: RsvpRecord = {
    v: 1,
    rsvpId: message.rsvp_id,
    mtime: message.mtime,
    response: message.response,
    guests: message.guests ?? 0,
    visibility: cleanOptionalText(message.visibility),
    city,
    event: {
      id: eventId,
      name: cleanOptionalText(message.event.event_name),
      time: message.event.time ?? null,
      url: cleanOptionalText(message.event.event_url),
    },
    group: {
      id: message.group.group_id,
      name: cleanOptionalText(message.group.group_name),
      urlname: cleanOptionalText(message.group.group_urlname),
      position: toPosition(message.group.group_lat, message.group.group_lon),
      topics: toTopics(message.group.group_topics ?? []),
    },
    venue: message.venue
      ? {
          id: message.venue.venue_id,
          name: cleanOptionalText(message.venue.venue_name),
          position: toPosition(message.venue.lat, message.venue.lon),
        }
      : null,
  };
  return { ok: true, record };
}

function toCity(group: StreamMessage["group"]): City | Rejection {
  const name = cleanText(group.group_city);
  if (name === "") return { reason: "missing_field", detail: "group.group_city: empty" };
  const country = cleanText(group.group_country).toLowerCase();
  if (!/^[a-z]{2}$/.test(country)) {
    return {
      reason: "invalid_field",
      detail: cleanText(`group.group_country: not a two-letter country code: ${country}`).slice(
        0,
        MAX_DETAIL_LENGTH,
      ),
    };
  }
  // Uppercasing can undo NFC (cleanText's form), so the state is normalized again.
  const state = cleanOptionalText(group.group_state)?.toUpperCase().normalize("NFC") ?? null;
  // Capped here, once, so every later stage (Kafka key, counter keys, Spark, the site) sees
  // bounded names: a key part keeps a prefix and a hash of the whole, a name an ellipsis.
  return {
    key: [
      country,
      state === null ? "" : capKeyPart(foldForKey(state)),
      capKeyPart(foldForKey(name)),
    ].join("/"),
    country,
    state: state === null ? null : capDisplayText(state),
    name: capDisplayText(name),
  };
}

/**
 * The real feed uses lat = lon = 0 for "unknown place"; a position outside the globe is
 * equally unknown. Either way the RSVP still counts for its city; only the map skips it.
 */
export function toPosition(lat: number | undefined, lon: number | undefined): Position | null {
  if (lat === undefined || lon === undefined) return null;
  if (lat === 0 && lon === 0) return null;
  if (Math.abs(lat) > 90 || Math.abs(lon) > 180) return null;
  return { lat, lon };
}

function toTopics(topics: { urlkey: string; topic_name: string }[]): Topic[] {
  const byKey = new Map<string, Topic>();
  for (const topic of topics) {
    const key = foldForKey(topic.urlkey);
    const name = cleanText(topic.topic_name);
    if (key !== "" && name !== "" && !byKey.has(key)) byKey.set(key, { key, name });
  }
  return [...byKey.values()];
}
