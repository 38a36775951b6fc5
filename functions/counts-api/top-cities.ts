/**
 * The counts API's query: the top cities of one country for a UTC day or all time, from the
 * counters the city-counts Lambda keeps. Counters of one country and day share a partition
 * (`DAY#<day>#<country>`, `ALL#<country>`), so one Query reads exactly what is ranked.
 */
import { type AttributeValue, type DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";

export interface CityCount {
  key: string;
  city: string;
  state: string | null;
  country: string;
  rsvps: number;
  yes: number;
  no: number;
  guests: number;
  /** Epoch ms of the counter's last update. */
  updatedAt: number;
}

export interface TopCities {
  country: string;
  /** `YYYY-MM-DD`, or `all` for all-time counts. */
  day: string;
  cities: CityCount[];
  /** Number of cities with counts, before the limit. */
  totalCities: number;
  /** The newest update among all of them, ISO 8601; null when there is none. */
  updatedAt: string | null;
  /** The API's UTC day, so a page can tell "today" from the latest day with counts. */
  today?: string;
}

/**
 * The latest day, not after `notAfter`, on which `country` has counts: the city-counts Lambda
 * marks each such day (`DAYS#<country>`, sort key the day), so this is one item read. Null when
 * the country has none. A recording from another year has its counts on its own days.
 */
export async function latestCountedDay(
  dynamodb: DynamoDBClient,
  tableName: string,
  country: string,
  notAfter: string,
): Promise<string | null> {
  const page = await dynamodb.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: "pk = :pk AND sk <= :notAfter",
      ExpressionAttributeValues: { ":pk": { S: `DAYS#${country}` }, ":notAfter": { S: notAfter } },
      ScanIndexForward: false,
      Limit: 1,
    }),
  );
  return page.Items?.[0]?.sk?.S ?? null;
}

export function countsPartition(country: string, day: string): string {
  return day === "all" ? `ALL#${country}` : `DAY#${day}#${country}`;
}

export async function queryTopCities(
  dynamodb: DynamoDBClient,
  tableName: string,
  query: { country: string; day: string; limit: number },
): Promise<TopCities> {
  return topOf(await readRankedPartition(dynamodb, tableName, query), query.limit);
}

/** A partition's cities with counts, ranked, and the time of its newest update. */
export interface RankedPartition {
  country: string;
  day: string;
  /** Every city with counts, most RSVPs first (ties by key). */
  ranked: CityCount[];
  /** Epoch ms of the newest update, 0 when there is none. */
  newest: number;
}

/** The first `limit` cities of a ranked partition, as the API answers them. */
export function topOf(partition: RankedPartition, limit: number): TopCities {
  return {
    country: partition.country,
    day: partition.day,
    cities: partition.ranked.slice(0, limit),
    totalCities: partition.ranked.length,
    updatedAt: partition.newest > 0 ? new Date(partition.newest).toISOString() : null,
  };
}

/** Reads one counters partition, every page, and ranks it. */
export async function readRankedPartition(
  dynamodb: DynamoDBClient,
  tableName: string,
  query: { country: string; day: string },
): Promise<RankedPartition> {
  const all: CityCount[] = [];
  let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamodb.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": { S: countsPartition(query.country, query.day) } },
        ExclusiveStartKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const count = toCityCount(item);
      // A counter whose RSVPs all moved to another day or city is back at zero: no city to show.
      if (count.rsvps > 0) all.push(count);
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  all.sort((a, b) => b.rsvps - a.rsvps || a.key.localeCompare(b.key));
  const newest = all.reduce((max, city) => Math.max(max, city.updatedAt), 0);
  return { country: query.country, day: query.day, ranked: all, newest };
}

/** How long a container keeps a ranked partition: the answers' own max-age (handler.ts). */
export const PARTITION_CACHE_MS = 2000;

/**
 * Keeps each ranked partition `ttlMs` in the container (and lets concurrent requests for one
 * share a single read, which matters where one process serves many, as the local API does; a
 * Lambda container serves one at a time). Ranking needs the whole partition (a Query of every
 * city of the country and day), so without this every poll of every viewer reads it all; with
 * it, a container reads a partition at most once per `ttlMs`, whatever the limit asked. An
 * answer may so be up to `ttlMs` older than the table, on top of its own `max-age` in the
 * browser and, behind CloudFront, the edge's cache time. A failed read is not kept.
 */
export function cachedPartitions(
  read: (query: { country: string; day: string }) => Promise<RankedPartition>,
  ttlMs: number,
  now: () => number = Date.now,
): (query: { country: string; day: string }) => Promise<RankedPartition> {
  const kept = new Map<string, { at: number; partition: Promise<RankedPartition> }>();
  return (query) => {
    const key = `${query.country}|${query.day}`;
    const at = now();
    const hit = kept.get(key);
    if (hit && at - hit.at < ttlMs) return hit.partition;
    // Entries past their time are dropped as they are met, so the map stays as small as the
    // set of partitions asked for within ttlMs.
    for (const [other, entry] of kept) if (at - entry.at >= ttlMs) kept.delete(other);
    const partition = read(query);
    kept.set(key, { at, partition });
    partition.catch(() => {
      if (kept.get(key)?.partition === partition) kept.delete(key);
    });
    return partition;
  };
}

/** A counter item of the counts table as a {@link CityCount}. */
export function toCityCount(item: Record<string, AttributeValue>): CityCount {
  const number = (name: string) => Number(item[name]?.N ?? 0);
  return {
    key: item.sk?.S ?? "",
    city: item.city?.S ?? "",
    state: item.state?.S ?? null,
    country: item.country?.S ?? "",
    rsvps: number("rsvps"),
    yes: number("yes"),
    no: number("no"),
    guests: number("guests"),
    updatedAt: number("updatedAt"),
  };
}
