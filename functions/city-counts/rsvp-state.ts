/**
 * The counting rule, as pure functions. Meetup re-sends an RSVP every time it changes, so the
 * stream holds messages, and the table must hold RSVPs:
 *
 * - An RSVP is one `rsvpId`. Its state is its message with the greatest `mtime`; among equal
 *   mtimes the first to arrive wins (a later copy is a duplicate, not a change). "Arrive" is
 *   arrival at the ingest, which stamps each record (`arrival`, see tasks/ingest/arrival-clock.ts):
 *   the topic is keyed by city, so two versions of one RSVP that name different cities travel
 *   on different partitions, which the counting reads side by side, in no order between them.
 *   A record without a stamp (another producer) ranks after every stamped one of its mtime,
 *   and among unstamped ones the first the counting sees wins.
 * - It counts once, on the UTC day of the earliest `mtime` seen for it, in the city of its
 *   group (as its current state has it): `rsvps = yes + no` of the RSVPs whose current answer
 *   is that, and `guests` sums the guests of current yes answers. The all-time row of a city
 *   follows the same rule without the day.
 * - So a yes→no change moves one RSVP from `yes` to `no` on its day; an older version arriving
 *   after a newer one changes nothing but, where its mtime is earlier, the day; an exact
 *   duplicate changes nothing, whenever it comes, as long as the RSVP's state is kept (the
 *   dedup horizon: `RSVP_STATE_TTL_DAYS` after its last change).
 *
 * Folding is associative: folding a batch's messages first and then merging the result into
 * the stored state gives the state that folding every message in arrival order would give.
 * That is what lets one batch write each RSVP's state once.
 */
import type { CountableRecord } from "../shared/rsvp/record-schema.js";

export type CountedCity = CountableRecord["city"];

export interface RsvpState {
  rsvpId: number;
  /** Greatest mtime seen: the version the state holds. */
  mtime: number;
  /** Earliest mtime seen: its UTC day is the day the RSVP counts on. */
  firstMtime: number;
  response: "yes" | "no";
  guests: number;
  city: CountedCity;
  /** When the event starts (epoch ms), as the current version has it; null when unknown. */
  eventTime: number | null;
  /** The current version's arrival stamp from the ingest; null when it came without one. */
  arrival: number | null;
}

/** The state after one more message of the same RSVP arrives (`state` null: its first). */
export function foldMessage(state: RsvpState | null, record: CountableRecord): RsvpState {
  const arrived: RsvpState = {
    rsvpId: record.rsvpId,
    mtime: record.mtime,
    firstMtime: record.mtime,
    response: record.response,
    guests: record.guests,
    city: record.city,
    eventTime: record.event?.time ?? null,
    arrival: record.arrival ?? null,
  };
  return state === null ? arrived : mergeStates(state, arrived);
}

/**
 * `earlier` folded with everything `later` folded, where `earlier` was seen first. The greater
 * mtime wins; among equal mtimes the smaller arrival stamp (none ranks last), and among equal
 * stamps `earlier`. A maximum under one order, so merging is associative.
 */
export function mergeStates(earlier: RsvpState, later: RsvpState): RsvpState {
  const laterWins =
    later.mtime > earlier.mtime ||
    (later.mtime === earlier.mtime && arrivalRank(later) < arrivalRank(earlier));
  const current = laterWins ? later : earlier;
  return { ...current, firstMtime: Math.min(earlier.firstMtime, later.firstMtime) };
}

const arrivalRank = (state: RsvpState) => state.arrival ?? Number.POSITIVE_INFINITY;

/** UTC day (`YYYY-MM-DD`) an RSVP counts on. */
export function countDay(state: Pick<RsvpState, "firstMtime">): string {
  return new Date(state.firstMtime).toISOString().slice(0, 10);
}

/** True when nothing that is stored or counted differs. */
export function sameState(a: RsvpState, b: RsvpState): boolean {
  return (
    a.mtime === b.mtime &&
    a.firstMtime === b.firstMtime &&
    a.response === b.response &&
    a.guests === b.guests &&
    a.eventTime === b.eventTime &&
    a.arrival === b.arrival &&
    a.city.key === b.city.key &&
    a.city.country === b.city.country &&
    a.city.state === b.city.state &&
    a.city.name === b.city.name
  );
}

export interface Counts {
  rsvps: number;
  yes: number;
  no: number;
  guests: number;
}

/** What one RSVP in this state adds to its city's counters (per day and all time). */
export function contributionOf(state: RsvpState): Counts {
  const yes = state.response === "yes";
  return { rsvps: 1, yes: yes ? 1 : 0, no: yes ? 0 : 1, guests: yes ? state.guests : 0 };
}
