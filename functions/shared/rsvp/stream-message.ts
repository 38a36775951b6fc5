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

/** Latitude / longitude in decimal degrees; range-checked later, not here, so a bad venue
 * position makes the location unknown instead of rejecting a countable RSVP. */
const coordinate = z.number().finite();

/** Meetup ids are positive integers, sent as JSON numbers. */
const numericId = z.number().int().positive();

/** The venue of the event. Absent for private or not-yet-set venues (about 1 message in 6). */
export const streamVenueSchema = z.looseObject({
  /** The venue's id; stable across events held there. */
  venue_id: numericId.describe("Venue id"),
  /** Free text set by the organiser; may hold HTML fragments, emoji and stray whitespace. */
  venue_name: z.string().optional().describe("Venue name (free text)"),
  /** Venue latitude; 0 together with lon 0 means "unknown place" in the real feed. */
  lat: coordinate.optional().describe("Venue latitude in degrees"),
  /** Venue longitude. */
  lon: coordinate.optional().describe("Venue longitude in degrees"),
});

/** The member who answered. Personal data: only member_id survives, as a keyed pseudonym. */
export const streamMemberSchema = z.looseObject({
  /** The member's id: replaced by an HMAC pseudonym at ingest, never stored. */
  member_id: numericId.describe("Member id (pseudonymised at ingest)"),
  /** Display name: personal data, dropped at ingest. */
  member_name: z.unknown().optional().describe("Member display name (dropped at ingest)"),
  /** Photo URL: personal data, dropped at ingest. */
  photo: z.unknown().optional().describe("Member photo URL (dropped at ingest)"),
  /** Linked accounts (twitter, facebook ...): personal data, dropped at ingest. */
  other_services: z.unknown().optional().describe("Member's linked accounts (dropped at ingest)"),
});

/** The event the RSVP is for. */
export const streamEventSchema = z.looseObject({
  /** Event id; a string in the feed (numeric or alphanumeric). */
  event_id: z.string().min(1).describe("Event id"),
  /** Event title (free text). */
  event_name: z.string().optional().describe("Event name (free text)"),
  /** Event start in epoch milliseconds; missing for events without a set date. */
  time: z.number().int().optional().describe("Event start, epoch ms"),
  /** Link to the event page. */
  event_url: z.string().optional().describe("Event page URL"),
});

/** A topic the group declared ("Hiking", "Python"); `urlkey` is the stable slug. */
export const streamTopicSchema = z.looseObject({
  urlkey: z.string().describe("Topic slug"),
  topic_name: z.string().describe("Topic display name"),
});

/** The group that hosts the event. Its city is the group's home city, not the venue's. */
export const streamGroupSchema = z.looseObject({
  /** Group id. */
  group_id: numericId.describe("Group id"),
  /** Group name (free text). */
  group_name: z.string().optional().describe("Group name (free text)"),
  /** Slug used in the group's URL. */
  group_urlname: z.string().optional().describe("Group URL slug"),
  /** The group's home city: what RSVPs are counted under. */
  group_city: z.string().describe("Group home city"),
  /** ISO 3166-1 alpha-2 country code, lowercase in the feed ("us"). */
  group_country: z.string().describe("Group country (ISO 3166-1 alpha-2)"),
  /** State or province code; sent for US and Canadian groups only ("OR"). */
  group_state: z.string().optional().describe("Group state/province (US, CA only)"),
  /** The group's home position (city centre), not the venue's. */
  group_lat: coordinate.optional().describe("Group home latitude"),
  group_lon: coordinate.optional().describe("Group home longitude"),
  /** Topics the group declared. */
  group_topics: z.array(streamTopicSchema).optional().describe("Group topics"),
});

/** One RSVP stream message. */
export const streamMessageSchema = z.looseObject({
  /** RSVP id: stable for one member's answer to one event; re-sent with a newer mtime on change. */
  rsvp_id: numericId.describe("RSVP id"),
  /** Last modification time in epoch milliseconds: with rsvp_id, identifies one message. */
  mtime: z
    .number()
    .int()
    .min(EARLIEST_MTIME_MS, "before Meetup existed")
    .max(LATEST_MTIME_MS, "after the year 2100")
    .describe("Last modification, epoch ms"),
  /** The answer. */
  response: z.enum(["yes", "no"]).describe("Answer: yes or no"),
  /** Extra people the member brings. */
  guests: z.number().int().min(0).optional().describe("Guests brought along"),
  /** Who may see the RSVP. */
  visibility: z.string().optional().describe("RSVP visibility (public, members)"),
  member: streamMemberSchema.optional(),
  event: streamEventSchema,
  group: streamGroupSchema,
  venue: streamVenueSchema.optional(),
});

export type StreamMessage = z.infer<typeof streamMessageSchema>;
