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
  return {
    country: query.country,
    day: query.day,
    cities: all.slice(0, query.limit),
    totalCities: all.length,
    updatedAt: newest > 0 ? new Date(newest).toISOString() : null,
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
