/**
 * The normalized RSVP record: what the ingest sends to Kafka and Firehose and what every later
 * stage reads. It is built field by field from the stream message (an allow-list), so personal
 * data of the feed (member names, photos, linked accounts, raw member ids) cannot leak into it.
 */

/** A position in decimal degrees, or null when the feed's position is unknown or impossible. */
export interface Position {
  lat: number;
  lon: number;
}

/** The city an RSVP is counted under: the hosting group's home city. */
export interface City {
  /**
   * `country/state/city`, folded (lowercase, NFC, whitespace collapsed), e.g. `us/or/portland`.
   * State is empty outside the US and Canada, e.g. `co//bogotá`. Portland OR and Portland ME
   * get different keys.
   */
  key: string;
  /** ISO 3166-1 alpha-2 code, lowercase ("us"). */
  country: string;
  /** State or province code, uppercase ("OR"); null where the feed has none. */
  state: string | null;
  /** Display name, cleaned but not folded ("Portland"). */
  name: string;
}

export interface Topic {
  /** Stable slug ("hiking"). */
  key: string;
  /** Display name ("Hiking"). */
  name: string;
}

export interface RsvpRecord {
  /** Version of this record's shape, so stored data can be read after the shape changes. */
  v: 1;
  rsvpId: number;
  /** Epoch ms of the RSVP's last change; (rsvpId, mtime) identifies one message. */
  mtime: number;
  response: "yes" | "no";
  guests: number;
  /**
   * When the ingest received the message: microseconds since the epoch, strictly increasing
   * within one ingest task (tasks/ingest/arrival-clock.ts). Set by the ingest, not by the parser;
   * counting ranks versions of equal mtime by it.
   */
  arrival?: number;
  visibility: string | null;
  city: City;
  event: {
    id: string;
    name: string | null;
    /** Event start, epoch ms; null when the event has no date. */
    time: number | null;
    url: string | null;
  };
  group: {
    id: number;
    name: string | null;
    urlname: string | null;
    position: Position | null;
    topics: Topic[];
  };
  /** Null when the RSVP's venue is private or not set. */
  venue: {
    id: number;
    name: string | null;
    /** Null when the feed sent lat = lon = 0, a missing or an out-of-range position. */
    position: Position | null;
  } | null;
}

/** Why a message was rejected. Stable codes: dashboards and the dead-letter topic key on them. */
export type RejectionReason =
  | "empty"
  | "too_large"
  | "not_json"
  | "not_an_object"
  | "missing_field"
  | "invalid_field"
  /** A bug in the parser itself; kept as a rejection so one message can never stop the feed. */
  | "internal_error";

export interface Rejection {
  reason: RejectionReason;
  /** Human-readable detail, e.g. `group.group_city: expected string, received undefined`. */
  detail: string;
}

export type ParseResult = { ok: true; record: RsvpRecord } | { ok: false; rejection: Rejection };
