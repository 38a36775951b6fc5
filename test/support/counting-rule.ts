/**
 * The counting rule of the README ("Exactly-once counts"), written as plainly as possible, as
 * the oracle the tests compare the table with: records in arrival order in, the counts a
 * perfect counter holds out. Deliberately independent of functions/city-counts/rsvp-state.ts.
 */
import type { DayCount } from "../../local/pipeline/day-counts.js";

export interface RuleRecord {
  rsvpId: number;
  mtime: number;
  response: "yes" | "no";
  guests: number;
  city: { key: string; country: string; state: string | null; name: string };
}

/** A row of counts, shaped like `npm start -- --once --json`'s; `day` is `all` for all time. */
export type RuleCount = DayCount;

/** Keyed `DAY#<day>#<country> <cityKey>` and `ALL#<country> <cityKey>`, like the table. */
export function countsByRule(records: Iterable<RuleRecord>): {
  counts: Map<string, RuleCount>;
  rsvps: number;
} {
  const current = new Map<number, RuleRecord>();
  const earliest = new Map<number, number>();
  for (const record of records) {
    const held = current.get(record.rsvpId);
    // The greatest mtime wins; among equal ones the first to arrive stays.
    if (held === undefined || record.mtime > held.mtime) current.set(record.rsvpId, record);
    earliest.set(
      record.rsvpId,
      Math.min(earliest.get(record.rsvpId) ?? record.mtime, record.mtime),
    );
  }
  const counts = new Map<string, RuleCount>();
  for (const [rsvpId, record] of current) {
    const day = new Date(earliest.get(rsvpId) ?? record.mtime).toISOString().slice(0, 10);
    const { key, country, state, name } = record.city;
    for (const [id, rowDay] of [
      [`DAY#${day}#${country} ${key}`, day],
      [`ALL#${country} ${key}`, "all"],
    ] as const) {
      const row = counts.get(id) ?? {
        country,
        state,
        city: name,
        day: rowDay,
        rsvps: 0,
        yes: 0,
        no: 0,
        guests: 0,
      };
      row.rsvps += 1;
      if (record.response === "yes") {
        row.yes += 1;
        row.guests += record.guests;
      } else {
        row.no += 1;
      }
      counts.set(id, row);
    }
  }
  return { counts, rsvps: current.size };
}
