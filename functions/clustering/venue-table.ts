/**
 * Reads the curated `venue` table the Spark job writes (Parquet, one file per partition part)
 * with hyparquet: pure JavaScript, reads Spark's Parquet correctly (parquetjs-lite rejects
 * format-v2 files and misreads INT96, see the README), and small enough for a Lambda.
 */
import { parquetReadObjects } from "hyparquet";
import { z } from "zod";

/** Spark writes LongType as INT64, which hyparquet returns as bigint. */
const long = z.union([z.bigint(), z.number()]).transform((value) => Number(value));
const topic = z.object({ key: z.string(), name: z.string() });

const venueRowSchema = z.object({
  venue_id: long,
  name: z.string().nullable(),
  lat: z.number().nullable(),
  lon: z.number().nullable(),
  first_seen: long,
  last_seen: long,
  rsvp_count: long,
  yes_count: long,
  topics: z
    .array(topic)
    .nullable()
    .transform((topics) => topics ?? []),
  date: z.string().optional(),
});

export interface Venue {
  id: number;
  name: string | null;
  /** Null when the feed never gave a usable position: such venues are counted, not mapped. */
  position: { lat: number; lon: number } | null;
  firstSeen: number;
  lastSeen: number;
  rsvpCount: number;
  yesCount: number;
  topics: { key: string; name: string }[];
}

/** The rows of one Parquet file of the venue table; a row that does not fit is an error, not a guess. */
export async function readVenueFile(
  bytes: ArrayBuffer,
  partitionDate?: string,
): Promise<(Venue & { date: string })[]> {
  const rows = await parquetReadObjects({ file: bytes });
  return rows.map((row, index) => {
    const parsed = venueRowSchema.safeParse(row);
    if (!parsed.success) {
      throw new Error(`venue row ${index}: ${z.prettifyError(parsed.error)}`);
    }
    const v = parsed.data;
    return {
      id: v.venue_id,
      name: v.name,
      position: v.lat === null || v.lon === null ? null : { lat: v.lat, lon: v.lon },
      firstSeen: v.first_seen,
      lastSeen: v.last_seen,
      rsvpCount: v.rsvp_count,
      yesCount: v.yes_count,
      topics: v.topics,
      date: v.date ?? partitionDate ?? "",
    };
  });
}

/** One row per venue over all days read: counts summed, the newest name and position kept. */
export function mergeVenueDays(rows: readonly (Venue & { date: string })[]): Venue[] {
  const byId = new Map<number, Venue>();
  for (const row of [...rows].sort((a, b) => a.lastSeen - b.lastSeen)) {
    const known = byId.get(row.id);
    if (!known) {
      const { date: _date, ...venue } = row;
      byId.set(row.id, { ...venue, topics: [...venue.topics] });
      continue;
    }
    known.name = row.name ?? known.name;
    known.position = row.position ?? known.position;
    known.firstSeen = Math.min(known.firstSeen, row.firstSeen);
    known.lastSeen = Math.max(known.lastSeen, row.lastSeen);
    known.rsvpCount += row.rsvpCount;
    known.yesCount += row.yesCount;
    for (const t of row.topics)
      if (!known.topics.some((k) => k.key === t.key)) known.topics.push(t);
  }
  return [...byId.values()].sort((a, b) => a.id - b.id);
}
