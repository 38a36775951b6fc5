/**
 * Replaying a recording as live traffic. A replay feed that loops would otherwise send the
 * same RSVPs pass after pass: the counts absorb them as duplicates while their state lives
 * (the dedup horizon), and once it has expired every pass would add the whole recording to the
 * all-time counts again. In live mode each pass is new traffic instead:
 *
 * - every `rsvp_id` moves into a range of its own for the pass: `id + unit × 2^31`, where `unit`
 *   is the ten-minute period (since 2024-01-01 UTC) the pass starts in, strictly increasing
 *   within a process. Derived from the clock rather than counted, so neither a reconnect of the
 *   ingest nor a restart of the replay task ever re-sends an id of an earlier pass (unless
 *   passes of under ten minutes ran the units ahead of the clock before a restart);
 * - every `mtime` becomes the time the message is sent, so the live table shows today, and the
 *   versions of one RSVP keep the order the recording has them in.
 *
 * Meetup's rsvp_ids are below 2^31 (the recorded sample's largest is 1.73e9), which leaves
 * 2^22 units, ten minutes each, until 2103, within JavaScript's exact integers. A line that is
 * not a JSON object with a positive whole id and a plausible mtime is sent as it is: malformed
 * input still reaches the ingest as it would in the wild, and is rejected as it would be. A
 * valid line whose id is 2^31 or more (no Meetup id, but the ingest takes it) has no range to
 * move into: the process's first pass sends it with its mtime made now, and later passes leave
 * it out, since sent again it would be the same RSVP, counted again once its state expired.
 */

import { EARLIEST_MTIME_MS, LATEST_MTIME_MS } from "../../functions/shared/rsvp/stream-message.js";

const ID_RANGE = 2 ** 31;
const UNIT_MS = 10 * 60_000;
const UNITS_FROM = Date.UTC(2024, 0, 1);

/** Line rewriter of one pass: the line to send, or null to leave it out of this pass. */
export type PassTransform = (line: string) => string | null;

/**
 * Returns `nextPass()`: call it when a pass starts (any connection's) for the pass's rewriter.
 * `now` is the clock (tests pass their own).
 */
export function livePasses(now: () => number = Date.now): () => PassTransform {
  let lastUnit = -1;
  let passes = 0;
  return () => {
    const unit = Math.max(Math.floor((now() - UNITS_FROM) / UNIT_MS), lastUnit + 1);
    lastUnit = unit;
    const firstPass = passes++ === 0;
    const offset = unit * ID_RANGE;
    return (line) => {
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        return line;
      }
      if (message === null || typeof message !== "object" || Array.isArray(message)) return line;
      const fields = message as Record<string, unknown>;
      const id = fields.rsvp_id;
      if (
        typeof id !== "number" ||
        !Number.isSafeInteger(id) ||
        id <= 0 ||
        typeof fields.mtime !== "number" ||
        // An mtime the ingest would reject (seconds for milliseconds, say) stays as bad as it was.
        !(fields.mtime >= EARLIEST_MTIME_MS && fields.mtime <= LATEST_MTIME_MS)
      )
        return line;
      if (id >= ID_RANGE) return firstPass ? JSON.stringify({ ...fields, mtime: now() }) : null;
      return JSON.stringify({ ...fields, rsvp_id: id + offset, mtime: now() });
    };
  };
}
