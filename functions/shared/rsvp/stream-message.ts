/**
 * The Meetup RSVP stream message format (`ws://stream.meetup.com/2/rsvps`, retired in 2022), as
 * a zod schema. One message is sent whenever an RSVP is created or changed.
 *
 * The schema is deliberately loose where the real feed was loose (missing venue, missing event
 * time, extra fields) and strict where downstream stages depend on a field: what cannot be
 * counted or clustered is rejected with a reason instead of being guessed.
 */
import { z } from "zod";

/** Meetup was founded in 2002: an older mtime is a unit mistake (seconds) or garbage. */
export const EARLIEST_MTIME_MS = Date.UTC(2002, 0, 1);
export const LATEST_MTIME_MS = Date.UTC(2100, 0, 1);

/**
 * The most guests one RSVP may bring. Meetup documents an event's `guest_limit` only as "0 or
 * more" (API v2, Event Create), and the recorded feed's largest is 5; a thousand is beyond any
 * real answer, rejects garbage that would swamp a city's guests, and keeps every sum of guests
 * the counting makes (a batch's deltas, a city's totals) an exact integer in a double.
 */
export const MAX_GUESTS = 1000;

/** Latitude / longitude in decimal degrees; range-checked later, not here, so a bad venue
 * position makes the location unknown instead of rejecting a countable RSVP. */
const coordinate = z.number().finite();

/** Meetup ids are positive integers, sent as JSON numbers. */
const numericId = z.number().int().positive();

/** A field of personal data: accepted in any form, since it is dropped at ingest unread. */
const personalData = z.unknown().optional();

/** The venue of the event. Absent for private or not-yet-set venues (about 1 message in 6). */
export const streamVenueSchema = z.looseObject({
  /** The venue's id; stable across events held there. */
  venue_id: numericId,
  /** Free text set by the organiser; may hold HTML fragments, emoji and stray whitespace. */
  venue_name: z.string().optional(),
  /** Venue latitude; 0 together with lon 0 means "unknown place" in the real feed. */
  lat: coordinate.optional(),
  /** Venue longitude. */
  lon: coordinate.optional(),
});

/** The event the RSVP is for. */
export const streamEventSchema = z.looseObject({
  /** Event id; a string in the feed (numeric or alphanumeric). */
  event_id: z.string().min(1),
  /** Event title (free text). */
  event_name: z.string().optional(),
  /** Event start in epoch milliseconds; missing for events without a set date. */
  time: z.number().int().optional(),
  /** Link to the event page. */
  event_url: z.string().optional(),
});

/** A topic the group declared ("Hiking", "Python"); `urlkey` is the stable slug. */
export const streamTopicSchema = z.looseObject({
  urlkey: z.string(),
  topic_name: z.string(),
});

/** The group that hosts the event. Its city is the group's home city, not the venue's. */
export const streamGroupSchema = z.looseObject({
  /** Group id. */
  group_id: numericId,
  /** Group name (free text). */
  group_name: z.string().optional(),
  /** Slug used in the group's URL. */
  group_urlname: z.string().optional(),
  /** The group's home city: what RSVPs are counted under. */
  group_city: z.string(),
  /** ISO 3166-1 alpha-2 country code, lowercase in the feed ("us"). */
  group_country: z.string(),
  /** State or province code; sent for US and Canadian groups only ("OR"). */
  group_state: z.string().optional(),
  /** The group's home position (city centre), not the venue's. */
  group_lat: coordinate.optional(),
  group_lon: coordinate.optional(),
  /** Topics the group declared. */
  group_topics: z.array(streamTopicSchema).optional(),
});

/** One RSVP stream message. */
export const streamMessageSchema = z.looseObject({
  /** RSVP id: stable for one member's answer to one event; re-sent with a newer mtime on change. */
  rsvp_id: numericId,
  /** Last modification time in epoch milliseconds: with rsvp_id, identifies one message. */
  mtime: z
    .number()
    .int()
    .min(EARLIEST_MTIME_MS, "before Meetup existed")
    .max(LATEST_MTIME_MS, "after the year 2100"),
  /** The answer. */
  response: z.enum(["yes", "no"]),
  /** Extra people the member brings. */
  guests: z.number().int().min(0).max(MAX_GUESTS, `more than ${MAX_GUESTS}`).optional(),
  /** Who may see the RSVP ("public", "members"). */
  visibility: z.string().optional(),
  /**
   * The member who answered (id, name, photo, linked accounts): personal data, all of it. Nothing
   * of it is read, so it is neither validated nor kept: the record has no member field.
   */
  member: personalData,
  event: streamEventSchema,
  group: streamGroupSchema,
  venue: streamVenueSchema.optional(),
});

export type StreamMessage = z.infer<typeof streamMessageSchema>;
