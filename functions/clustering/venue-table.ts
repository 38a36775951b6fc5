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
const weightedTopic = z.object({ key: z.string(), name: z.string(), weight: z.number() });

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
  /** Absent in days curated before the job wrote it; null for a venue whose groups have no topic. */
  topic_weights: z.array(weightedTopic).nullable().optional(),
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
  /**
   * What the venue's RSVPs meet about: each RSVP weighs 1, split evenly over its group's topics
   * (spark/curate_rsvps.py). A venue's topic list alone would give each topic all its RSVPs,
   * whichever group they came with. Absent: see {@link topicWeightsOf}.
   */
  topicWeights?: TopicWeight[];
}

export interface TopicWeight {
  key: string;
  name: string;
  weight: number;
}

/**
 * A venue's topic weights; without them (a day curated before the job wrote them), its RSVPs
 * spread evenly over its topic list, the best the list alone can say (exact for a venue of one
 * group).
 */
export function topicWeightsOf(venue: Venue): TopicWeight[] {
  if (venue.topicWeights) return venue.topicWeights;
  const { topics, rsvpCount } = venue;
  return topics.map((t) => ({ key: t.key, name: t.name, weight: rsvpCount / topics.length }));
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
      ...(v.topic_weights === undefined ? {} : { topicWeights: v.topic_weights ?? [] }),
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
      byId.set(row.id, {
        ...venue,
        topics: [...venue.topics],
        topicWeights: topicWeightsOf(venue).map((t) => ({ ...t })),
      });
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
    const weights = topicWeightsOf(known); // set when the venue was first met, above
    for (const t of topicWeightsOf(row)) {
      const same = weights.find((k) => k.key === t.key);
      if (same) same.weight += t.weight;
      else weights.push({ ...t });
    }
  }
  return [...byId.values()].sort((a, b) => a.id - b.id);
}
